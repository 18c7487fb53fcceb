# sesgate - one non-recursive Makefile. Objects go to $(BUILD), which is
# build/ normally and build-san/ with SANITIZE=1, so the two never mix.
#
#   make                 build the programs
#   make check           build and run every test (installs what is missing)
#   make check SANITIZE=1   the same under ASan and UBSan
#   make bench           load generators against the policy service,
#                        the milter and the feedback daemon
#   make demo            the end-to-end demonstration
#   make install         PREFIX=/usr/local DESTDIR= SYSCONFDIR=/etc

PREFIX		?= /usr/local
SYSCONFDIR	?= /etc
SBINDIR		 = $(PREFIX)/sbin
MANDIR		 = $(PREFIX)/share/man
DOCDIR		 = $(PREFIX)/share/doc/sesgate
UNITDIR		 = $(PREFIX)/lib/systemd/system
UNITS		 = sesgate-policyd.service sesgate-milter.service \
		   sesgate-feedbackd.service

CC		?= cc
WARN		 = -Wall -Wextra -Werror -Wformat=2 -Wshadow \
		   -Wstrict-prototypes -Wwrite-strings -Wno-format-nonliteral
CFLAGS		?= -O2 -g
CFLAGS		+= $(WARN) -std=c11 -D_GNU_SOURCE -Ilib -I$(BUILD)/lib \
		   -DSYSCONFDIR='"$(SYSCONFDIR)"' -MMD -MP
LDFLAGS		?=

ifeq ($(SANITIZE),1)
BUILD		 = build-san
CFLAGS		+= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer -O1
LDFLAGS		+= -fsanitize=address,undefined
else
BUILD		 = build
endif

PKGS		 = hiredis libevent inih libcrypto libsystemd
PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS	:= $(shell pkg-config --libs check 2>/dev/null)
JSON_CFLAGS	:= $(shell pkg-config --cflags json-c 2>/dev/null)
JSON_LIBS	:= $(shell pkg-config --libs json-c 2>/dev/null)
CURL_LIBS	:= $(shell pkg-config --libs libcurl 2>/dev/null)
EVSSL_LIBS	:= $(shell pkg-config --libs libevent_openssl 2>/dev/null)
CFLAGS		+= $(PKG_CFLAGS)

LIB_SRC		 = lib/mem.c lib/log.c lib/str.c lib/buf.c lib/addr.c \
		   lib/cidr.c lib/redisurl.c lib/config.c lib/schema.c \
		   lib/store.c lib/storeev.c lib/admin.c \
		   lib/suppression.c lib/dkimkey.c lib/progopt.c lib/receipt.c \
		   lib/rates.c lib/smtppass.c lib/confcheck.c lib/sdnotify.c \
		   lib/privs.c lib/monotime.c
POLICYD_SRC	 = policyd/request.c policyd/decide.c policyd/server.c \
		   policyd/main.c
MILTER_SRC	 = milter/main.c milter/glue.c milter/gen.c milter/msg.c \
		   milter/sign.c milter/fromhdr.c milter/mime.c \
		   milter/mimeparam.c milter/policy.c milter/keycache.c \
		   milter/resolver.c milter/dnscache.c milter/idcache.c \
		   milter/authres.c \
		   milter/spfverify.c \
		   milter/dkimverify.c milter/dmarcverify.c milter/inbound.c \
		   milter/hdrfield.c milter/rules.c milter/pubkeycache.c \
		   policyd/request.c policyd/decide.c
FEEDBACK_SRC	 = feedback/main.c feedback/endpoint.c feedback/effects.c \
		   feedback/certs.c feedback/snsmsg.c feedback/sesevent.c \
		   feedback/spool.c feedback/mailin.c feedback/fbmail.c \
		   feedback/metrics.c feedback/fbmime.c feedback/reputation.c \
		   feedback/fetch.c
CTL_SRC		 = ctl/sesgatectl.c ctl/cmd_suppression.c ctl/cmd_identity.c \
		   ctl/cmd_quota.c ctl/cmd_pause.c ctl/output.c ctl/bulk.c \
		   ctl/cmd_dkim.c ctl/cmd_smtp.c ctl/cmd_check.c
UNIT_SRC	 = tests/unit/main.c tests/unit/test_request.c \
		   tests/unit/test_config.c tests/unit/test_addr.c \
		   tests/unit/test_redisurl.c tests/unit/test_cidr.c \
		   tests/unit/test_schema.c \
		   tests/unit/test_decide.c tests/unit/test_fromhdr.c \
		   tests/unit/test_mime.c tests/unit/test_mimeparam.c \
		   tests/unit/test_dkimkey.c tests/unit/test_receipt.c \
		   tests/unit/test_authres.c tests/unit/test_sesevent.c \
		   tests/unit/test_snsmsg.c tests/unit/test_fbmail.c \
		   tests/unit/test_dnscache.c tests/unit/test_idcache.c
BENCH_SRC	 = tests/bench/loadgen.c tests/bench/dunno-server.c \
		   tests/bench/milterload.c tests/bench/benchstat.c \
		   tests/bench/snsload.c

obj		 = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ		 = $(call obj,$(LIB_SRC))
POLICYD_OBJ	 = $(call obj,$(POLICYD_SRC))
MILTER_OBJ	 = $(call obj,$(MILTER_SRC))
FEEDBACK_OBJ	 = $(call obj,$(FEEDBACK_SRC))
CTL_OBJ		 = $(call obj,$(CTL_SRC))
UNIT_OBJ	 = $(call obj,$(UNIT_SRC))

PROGS		 = $(BUILD)/sesgate-policyd $(BUILD)/sesgate-milter \
		   $(BUILD)/sesgate-feedbackd \
		   $(BUILD)/sesgatectl
UNIT		 = $(BUILD)/unit-tests
BENCH_BIN	 = $(BUILD)/loadgen $(BUILD)/dunno-server $(BUILD)/milterload \
		   $(BUILD)/snsload

.PHONY: all check unit bench demo install uninstall clean deps

all: $(PROGS)

deps:
	@contrib/install-deps

$(BUILD)/lib/sesgate.lua.inc: lib/sesgate.lua
	@mkdir -p $(@D)
	awk '{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); \
	    print "\"" $$0 "\\n\"" }' $< > $@

$(BUILD)/lib/schema.o: $(BUILD)/lib/sesgate.lua.inc

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/sesgate-policyd: $(POLICYD_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# libmilter, libspf2 and libopendmarc ship no pkg-config file.
$(BUILD)/sesgate-milter: $(MILTER_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ -lmilter -lopendkim -lspf2 -lopendmarc \
	    -lunbound $(PKG_LIBS) -lpthread -lm

# json-c only where it is used: the feedback daemon and its unit tests.
$(FEEDBACK_OBJ) $(BUILD)/tests/unit/test_snsmsg.o \
    $(BUILD)/tests/unit/test_sesevent.o: CFLAGS += $(JSON_CFLAGS)

$(BUILD)/sesgate-feedbackd: $(FEEDBACK_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) $(CURL_LIBS) $(EVSSL_LIBS) \
	    $(PKG_LIBS) -lssl -lm

$(BUILD)/sesgatectl: $(CTL_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# The unit tests link the modules they cover, not the programs' main().
$(UNIT): $(UNIT_OBJ) $(filter-out $(BUILD)/policyd/main.o \
	    $(BUILD)/policyd/server.o,$(POLICYD_OBJ)) $(LIB_OBJ) \
	    $(BUILD)/milter/fromhdr.o $(BUILD)/milter/mime.o \
	    $(BUILD)/milter/mimeparam.o $(BUILD)/milter/authres.o \
	    $(BUILD)/feedback/sesevent.o $(BUILD)/feedback/snsmsg.o \
	    $(BUILD)/feedback/fbmail.o $(BUILD)/feedback/fbmime.o \
	    $(BUILD)/milter/dnscache.o $(BUILD)/milter/resolver.o \
	    $(BUILD)/milter/idcache.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(JSON_LIBS) $(PKG_LIBS) \
	    -lunbound -lpthread -lm

$(BUILD)/loadgen: $(BUILD)/tests/bench/loadgen.o \
	    $(BUILD)/tests/bench/benchstat.o
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread -lm

$(BUILD)/milterload: $(BUILD)/tests/bench/milterload.o \
	    $(BUILD)/tests/bench/benchstat.o $(BUILD)/lib/buf.o \
	    $(BUILD)/lib/mem.o $(BUILD)/lib/log.o
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread -lm

$(BUILD)/dunno-server: $(BUILD)/tests/bench/dunno-server.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/snsload: $(BUILD)/tests/bench/snsload.o \
	    $(BUILD)/tests/bench/benchstat.o
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread -lm

unit: $(UNIT)

check: deps
	@$(MAKE) --no-print-directory all unit
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run-all

bench: deps
	@$(MAKE) --no-print-directory SANITIZE= all $(BENCH_BIN)
	@BUILD=build tests/bench/run
	@BUILD=build tests/bench/milter-run
	@BUILD=build tests/bench/inbound-run
	@BUILD=build tests/bench/postfix-run
	@BUILD=build tests/bench/feedback-run

demo: deps
	@$(MAKE) --no-print-directory SANITIZE= all
	@BUILD=build contrib/demo/run

install: all
	install -d $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/sesgate \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/sesgate-policyd $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/sesgate-milter $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/sesgate-feedbackd $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/sesgatectl $(DESTDIR)$(SBINDIR)/
	install -m 0644 man/sesgate.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/sesgate-redis.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 man/sesgate-policyd.8 man/sesgate-milter.8 \
	    man/sesgate-feedbackd.8 man/sesgatectl.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 conf/sesgate.conf conf/main.cf conf/master.cf \
	    conf/sendmail.mc $(DESTDIR)$(DOCDIR)/examples/
	install -m 0755 contrib/scripts/*.sh $(DESTDIR)$(DOCDIR)/examples/
	for u in $(UNITS); do \
	    sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
	        -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' contrib/systemd/$$u \
	        > $(DESTDIR)$(UNITDIR)/$$u && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	test -e $(DESTDIR)$(SYSCONFDIR)/sesgate/sesgate.conf || \
	    install -m 0640 conf/sesgate.conf \
	    $(DESTDIR)$(SYSCONFDIR)/sesgate/sesgate.conf

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/sesgate-policyd \
	    $(DESTDIR)$(SBINDIR)/sesgate-milter \
	    $(DESTDIR)$(SBINDIR)/sesgate-feedbackd $(DESTDIR)$(SBINDIR)/sesgatectl
	rm -f $(DESTDIR)$(MANDIR)/man5/sesgate.conf.5 \
	    $(DESTDIR)$(MANDIR)/man7/sesgate-redis.7 \
	    $(DESTDIR)$(MANDIR)/man8/sesgate-policyd.8 \
	    $(DESTDIR)$(MANDIR)/man8/sesgate-milter.8 \
	    $(DESTDIR)$(MANDIR)/man8/sesgate-feedbackd.8 \
	    $(DESTDIR)$(MANDIR)/man8/sesgatectl.8
	rm -rf $(DESTDIR)$(DOCDIR)
	for u in $(UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done

clean:
	rm -rf build build-san

-include $(shell find build build-san -name '*.d' 2>/dev/null)
