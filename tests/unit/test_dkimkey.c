/*
 * test_dkimkey.c - DKIM key files (lib/dkimkey.c): every kind of file
 * that must be refused and the message naming it, keys written by
 * dkimkey_generate() and by the openssl command line in each size and
 * form, the secret handed to libopendkim, the TXT record checked against
 * what openssl derives, and that generation sets mode 0600 and never
 * replaces a file. Files live under a private mkdtemp() directory,
 * removed at the end of each test.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkimkey.h"
#include "unit.h"

/* RSA generation is slow, and slower under the sanitizers. */
#define KEY_TIMEOUT	300

struct key_tmp {
	char	dir[64];
	char	path[128];
};

static void
key_tmp_new(struct key_tmp *t, const char *name)
{
	const char *tmpdir = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/sesgate-unit-XXXXXX",
	    tmpdir != NULL && *tmpdir != '\0' && strlen(tmpdir) < 32 ?
	    tmpdir : "/tmp");
	ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp %s", t->dir);
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
}

static int
key_tmp_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
key_tmp_remove(struct key_tmp *t)
{
	ck_assert_msg(nftw(t->dir, key_tmp_rm, 8, FTW_DEPTH | FTW_PHYS) == 0,
	    "remove %s", t->dir);
}

/* Run openssl with the NULL-terminated arguments, quietly; its exit
   status, which the test wants to be 0. */
static int
run_openssl(const char *arg, ...)
{
	const char	*argv[24];
	va_list		 ap;
	pid_t		 pid;
	int		 n = 0, status, fd;

	argv[n++] = "openssl";
	va_start(ap, arg);
	for (const char *a = arg; a != NULL && n < 23; a = va_arg(ap,
	    const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR);
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		execvp("openssl", (char **)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* The whole file into buf; its length. */
static size_t
read_file(const char *path, unsigned char *buf, size_t len)
{
	FILE	*fp = fopen(path, "rb");
	size_t	 n;

	ck_assert_msg(fp != NULL, "open %s", path);
	n = fread(buf, 1, len, fp);
	ck_assert_int_lt(n, len);
	fclose(fp);
	return n;
}

/* -- files that must be refused -------------------------------------- */

static void
setup_missing(const char *path)
{
	(void)path;
}

static void
setup_rsa1024(const char *path, mode_t mode)
{
	ck_assert_int_eq(run_openssl("genpkey", "-algorithm", "RSA",
	    "-pkeyopt", "rsa_keygen_bits:1024", "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
setup_0644(const char *path)
{
	setup_rsa1024(path, 0644);
}

static void
setup_0640(const char *path)
{
	setup_rsa1024(path, 0640);
}

static void
setup_0602(const char *path)
{
	setup_rsa1024(path, 0602);
}

static void
setup_directory(const char *path)
{
	ck_assert_int_eq(mkdir(path, 0700), 0);
}

static void
setup_garbage(const char *path)
{
	write_file(path, "this is not a key\n", 0600);
}

static void
setup_empty(const char *path)
{
	write_file(path, "", 0600);
}

static void
setup_certificate_like(const char *path)
{
	write_file(path, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n"
	    "-----END PRIVATE KEY-----\n", 0600);
}

static void
setup_public(const char *path)
{
	char priv[160];

	snprintf(priv, sizeof(priv), "%s.priv", path);
	setup_rsa1024(priv, 0600);
	ck_assert_int_eq(run_openssl("pkey", "-in", priv, "-pubout", "-out",
	    path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
setup_rsa_public_pkcs1(const char *path)
{
	char priv[160];

	snprintf(priv, sizeof(priv), "%s.priv", path);
	setup_rsa1024(priv, 0600);
	ck_assert_int_eq(run_openssl("rsa", "-in", priv, "-RSAPublicKey_out",
	    "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
setup_rsa512(const char *path)
{
	ck_assert_int_eq(run_openssl("genpkey", "-algorithm", "RSA",
	    "-pkeyopt", "rsa_keygen_bits:512", "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
setup_rsa4104(const char *path)
{
	/* Four primes make a key this size in a fraction of a second. */
	ck_assert_int_eq(run_openssl("genpkey", "-algorithm", "RSA",
	    "-pkeyopt", "rsa_keygen_bits:4104", "-pkeyopt",
	    "rsa_keygen_primes:4", "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
setup_p256(const char *path)
{
	ck_assert_int_eq(run_openssl("genpkey", "-algorithm", "EC",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
setup_ed448(const char *path)
{
	ck_assert_int_eq(run_openssl("genpkey", "-algorithm", "ED448",
	    "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
setup_rsa_pss(const char *path)
{
	ck_assert_int_eq(run_openssl("genpkey", "-algorithm", "RSA-PSS",
	    "-pkeyopt", "rsa_keygen_bits:1024", "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
setup_encrypted(const char *path)
{
	ck_assert_int_eq(run_openssl("genpkey", "-algorithm", "ED25519",
	    "-aes256", "-pass", "pass:secret", "-out", path, NULL), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static const char NOT_PEM[] = "%s: not a PEM private key; want a file "
    "that starts with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA "
    "PRIVATE KEY-----, as sesgatectl dkim keygen or openssl genpkey writes "
    "it";
static const char PUBLIC[] = "%s: a public key; want the private key (the "
    "public half goes into DNS)";

/* Each case puts its file at the path and names the error it expects,
   with %s for the path. */
static const struct {
	const char	*name;
	void		(*setup)(const char *path);
	const char	*want;
} refuse_cases[] = {
	{ "missing", setup_missing, "%s: no such file; create the key with "
	    "sesgatectl dkim keygen or correct the path" },
	{ "mode 0644", setup_0644, "%s: mode 0644; want 0600 or 0400, as a "
	    "private key must not be readable or writable by group or others "
	    "(chmod 600 %s)" },
	{ "mode 0640", setup_0640, "%s: mode 0640; want 0600 or 0400, as a "
	    "private key must not be readable or writable by group or others "
	    "(chmod 600 %s)" },
	{ "mode 0602", setup_0602, "%s: mode 0602; want 0600 or 0400, as a "
	    "private key must not be readable or writable by group or others "
	    "(chmod 600 %s)" },
	{ "directory", setup_directory, "%s: not a regular file; want the PEM "
	    "file of a private key" },
	{ "garbage", setup_garbage, NOT_PEM },
	{ "empty file", setup_empty, NOT_PEM },
	{ "PEM armour around garbage", setup_certificate_like, NOT_PEM },
	{ "public key", setup_public, PUBLIC },
	{ "PKCS#1 RSA public key", setup_rsa_public_pkcs1, PUBLIC },
	{ "RSA 512", setup_rsa512, "%s: RSA key of 512 bits; want 1024 to 4096 "
	    "(2048 recommended), the sizes every verifier checks (RFC 8301 "
	    "section 3.2)" },
	{ "RSA 4104", setup_rsa4104, "%s: RSA key of 4104 bits; want 1024 to "
	    "4096 (2048 recommended), the sizes every verifier checks (RFC "
	    "8301 section 3.2)" },
	{ "EC P-256", setup_p256, "%s: a key of type EC; DKIM signs with RSA "
	    "or Ed25519 keys only" },
	{ "Ed448", setup_ed448, "%s: a key of type ED448; DKIM signs with RSA "
	    "or Ed25519 keys only" },
	{ "RSA-PSS", setup_rsa_pss, "%s: a key of type RSA-PSS; DKIM signs "
	    "with RSA or Ed25519 keys only" },
	{ "pass phrase", setup_encrypted, "%s: the key is protected by a pass "
	    "phrase, which nobody can type for the signer; write it without "
	    "one (openssl pkey -in %s -out NEWFILE)" },
};

/* template with each "%s" replaced by path, into out. */
static void
with_path(const char *template, const char *path, char *out, size_t outlen)
{
	size_t		 o = 0, plen = strlen(path);
	const char	*p;

	for (p = template; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 's') {
			ck_assert_uint_lt(o + plen, outlen);
			memcpy(out + o, path, plen);
			o += plen;
			p++;
			continue;
		}
		ck_assert_uint_lt(o + 1, outlen);
		out[o++] = *p;
	}
	out[o] = '\0';
}

START_TEST(test_load_refused)
{
	struct key_tmp	 t;
	struct dkimkey	*k;
	char		 err[1024] = "", want[1024];

	key_tmp_new(&t, "key.pem");
	refuse_cases[_i].setup(t.path);
	with_path(refuse_cases[_i].want, t.path, want, sizeof(want));
	k = dkimkey_load(t.path, err, sizeof(err));
	ck_assert_msg(k == NULL, "dkimkey_load: \"%s\": got a key, want NULL",
	    refuse_cases[_i].name);
	EXPECT_STR("dkimkey_load", refuse_cases[_i].name, err, want);
	key_tmp_remove(&t);
}
END_TEST

START_TEST(test_load_unreadable)
{
	struct key_tmp	 t;
	struct dkimkey	*k;
	char		 err[1024] = "", want[1024];

	/* root reads any file: the permission check is the kernel's. */
	if (geteuid() == 0)
		return;
	key_tmp_new(&t, "key.pem");
	setup_rsa1024(t.path, 0000);
	snprintf(want, sizeof(want), "%s: permission denied; the key must be "
	    "readable by the user that signs (its owner, mode 0600 or 0400)",
	    t.path);
	k = dkimkey_load(t.path, err, sizeof(err));
	ck_assert_ptr_null(k);
	EXPECT_STR("dkimkey_load", "mode 0000", err, want);
	key_tmp_remove(&t);
}
END_TEST

/* -- keys that load --------------------------------------------------- */

enum key_maker { MAKE_GENERATE, MAKE_GENPKEY, MAKE_GENRSA };

static const struct {
	const char		*name;
	enum key_maker		 maker;
	enum dkimkey_alg	 alg;
	int			 bits;	/* asked for; 0: default */
	int			 want_bits;
	mode_t			 mode;
} load_cases[] = {
	{ "generate RSA 1024", MAKE_GENERATE, DKIMKEY_RSA, 1024, 1024, 0600 },
	{ "generate RSA default", MAKE_GENERATE, DKIMKEY_RSA, 0, 2048, 0600 },
	{ "generate RSA 4096", MAKE_GENERATE, DKIMKEY_RSA, 4096, 4096, 0600 },
	{ "generate Ed25519", MAKE_GENERATE, DKIMKEY_ED25519, 0, 256, 0600 },
	{ "genpkey RSA 1024", MAKE_GENPKEY, DKIMKEY_RSA, 1024, 1024, 0600 },
	{ "genpkey RSA 2048 mode 0400", MAKE_GENPKEY, DKIMKEY_RSA, 2048, 2048,
	    0400 },
	{ "genpkey RSA 4096", MAKE_GENPKEY, DKIMKEY_RSA, 4096, 4096, 0600 },
	{ "genpkey Ed25519", MAKE_GENPKEY, DKIMKEY_ED25519, 0, 256, 0600 },
	{ "genrsa PKCS#1 RSA 2048", MAKE_GENRSA, DKIMKEY_RSA, 2048, 2048,
	    0600 },
};

static void
make_key(const char *path, int i)
{
	char	bits[40], err[1024] = "";

	snprintf(bits, sizeof(bits), "rsa_keygen_bits:%d", load_cases[i].bits);
	switch (load_cases[i].maker) {
	case MAKE_GENERATE:
		ck_assert_msg(dkimkey_generate(path, load_cases[i].alg,
		    load_cases[i].bits, err, sizeof(err)) == 0,
		    "dkimkey_generate: \"%s\": %s", load_cases[i].name, err);
		break;
	case MAKE_GENPKEY:
		if (load_cases[i].alg == DKIMKEY_ED25519)
			ck_assert_int_eq(run_openssl("genpkey", "-algorithm",
			    "ED25519", "-out", path, NULL), 0);
		else
			ck_assert_int_eq(run_openssl("genpkey", "-algorithm",
			    "RSA", "-pkeyopt", bits, "-out", path, NULL), 0);
		break;
	case MAKE_GENRSA:
		snprintf(bits, sizeof(bits), "%d", load_cases[i].bits);
		ck_assert_int_eq(run_openssl("genrsa", "-traditional", "-out",
		    path, bits, NULL), 0);
		break;
	}
	ck_assert_int_eq(chmod(path, load_cases[i].mode), 0);
}

/* The public key as openssl derives it from the file: the DER
   SubjectPublicKeyInfo, into der; its length. */
static size_t
openssl_spki(const char *path, unsigned char *der, size_t len)
{
	char out[160];

	snprintf(out, sizeof(out), "%s.der", path);
	ck_assert_int_eq(run_openssl("pkey", "-in", path, "-pubout",
	    "-outform", "DER", "-out", out, NULL), 0);
	return read_file(out, der, len);
}

/* The bytes of base64 text b64 into out; their number. */
static size_t
unbase64(const char *b64, unsigned char *out, size_t outlen)
{
	size_t	n = strlen(b64);
	int	got;

	ck_assert_int_le(n / 4 * 3, outlen);
	got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	ck_assert_int_ge(got, 0);
	/* EVP_DecodeBlock counts the padding as bytes. */
	while (n > 0 && b64[n - 1] == '=') {
		n--;
		got--;
	}
	return (size_t)got;
}

START_TEST(test_load_good)
{
	static const char begin[] = "-----BEGIN PRIVATE KEY-----\n";
	static const char end[] = "-----END PRIVATE KEY-----\n";
	const char	*name = load_cases[_i].name;
	struct key_tmp	 t;
	struct dkimkey	*k;
	unsigned char	 der[2048], got[2048];
	char		 err[1024] = "", *txt, want_prefix[64];
	size_t		 dlen, glen;
	EVP_PKEY	*from_file, *from_secret;
	FILE		*fp;
	BIO		*bio;

	key_tmp_new(&t, "key.pem");
	make_key(t.path, _i);
	k = dkimkey_load(t.path, err, sizeof(err));
	ck_assert_msg(k != NULL, "dkimkey_load: \"%s\": %s", name, err);
	EXPECT_INT("dkimkey_load", name, k->alg, load_cases[_i].alg);
	EXPECT_INT("dkimkey_load", name, k->bits, load_cases[_i].want_bits);

	/* The secret: PKCS#8 PEM text of the same key, NUL-terminated. */
	EXPECT_INT("dkimkey_load secretlen", name, k->secretlen,
	    strlen((char *)k->secret));
	ck_assert_msg(strncmp((char *)k->secret, begin, strlen(begin)) == 0 &&
	    k->secretlen > strlen(end) && strcmp((char *)k->secret +
	    k->secretlen - strlen(end), end) == 0,
	    "dkimkey_load: \"%s\": secret is not PKCS#8 PEM: %.40s", name,
	    (char *)k->secret);
	fp = fopen(t.path, "r");
	ck_assert_ptr_nonnull(fp);
	from_file = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	bio = BIO_new_mem_buf(k->secret, (int)k->secretlen);
	from_secret = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ck_assert_ptr_nonnull(from_file);
	ck_assert_ptr_nonnull(from_secret);
	ck_assert_msg(EVP_PKEY_eq(from_file, from_secret) == 1,
	    "dkimkey_load: \"%s\": secret holds another key", name);
	EVP_PKEY_free(from_file);
	EVP_PKEY_free(from_secret);

	/* The TXT record: its exact form, and p= against openssl. */
	txt = dkimkey_txt(k);
	snprintf(want_prefix, sizeof(want_prefix), "v=DKIM1; k=%s; p=",
	    load_cases[_i].alg == DKIMKEY_RSA ? "rsa" : "ed25519");
	ck_assert_msg(strncmp(txt, want_prefix, strlen(want_prefix)) == 0,
	    "dkimkey_txt: \"%s\": got \"%s\", want \"%s...\"", name, txt,
	    want_prefix);
	EXPECT_STR("dkimkey_txt p=", name, txt + strlen(want_prefix),
	    k->pub_b64);
	ck_assert_msg(strspn(k->pub_b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789+/=") == strlen(k->pub_b64),
	    "dkimkey_txt: \"%s\": p= is not one base64 word", name);
	dlen = openssl_spki(t.path, der, sizeof(der));
	glen = unbase64(k->pub_b64, got, sizeof(got));
	if (load_cases[_i].alg == DKIMKEY_RSA) {
		EXPECT_INT("dkimkey_txt p= length", name, glen, dlen);
		ck_assert_msg(memcmp(got, der, dlen) == 0, "dkimkey_txt: "
		    "\"%s\": p= is not the SubjectPublicKeyInfo", name);
	} else {
		/* RFC 8410: a 12-byte algorithm header, then the key. */
		EXPECT_INT("openssl Ed25519 SPKI length", name, dlen, 44);
		EXPECT_INT("dkimkey_txt p= length", name, glen, 32);
		ck_assert_msg(memcmp(got, der + 12, 32) == 0, "dkimkey_txt: "
		    "\"%s\": p= is not the raw public key", name);
	}
	free(txt);
	dkimkey_free(&k);
	ck_assert_ptr_null(k);
	key_tmp_remove(&t);
}
END_TEST

START_TEST(test_load_symlink)
{
	struct key_tmp	 t;
	struct dkimkey	*k;
	char		 lnk[160], err[1024] = "";

	key_tmp_new(&t, "key.pem");
	ck_assert_int_eq(dkimkey_generate(t.path, DKIMKEY_ED25519, 0, err,
	    sizeof(err)), 0);
	snprintf(lnk, sizeof(lnk), "%s/current.pem", t.dir);
	ck_assert_int_eq(symlink("key.pem", lnk), 0);
	k = dkimkey_load(lnk, err, sizeof(err));
	ck_assert_msg(k != NULL, "dkimkey_load: \"symbolic link\": %s", err);
	EXPECT_INT("dkimkey_load", "symbolic link", k->alg, DKIMKEY_ED25519);
	dkimkey_free(&k);
	dkimkey_free(&k);
	key_tmp_remove(&t);
}
END_TEST

/* -- generation ------------------------------------------------------- */

START_TEST(test_generate_mode)
{
	struct key_tmp	 t;
	struct stat	 st;
	mode_t		 old;
	char		 err[1024] = "";
	int		 rc;

	/* A umask that would take the owner's write bit must not matter. */
	key_tmp_new(&t, "key.pem");
	old = umask(0277);
	rc = dkimkey_generate(t.path, DKIMKEY_ED25519, 0, err, sizeof(err));
	(void)umask(old);
	ck_assert_msg(rc == 0, "dkimkey_generate: \"umask 0277\": %s", err);
	ck_assert_int_eq(lstat(t.path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	EXPECT_INT("dkimkey_generate mode", "umask 0277", st.st_mode & 07777,
	    0600);
	key_tmp_remove(&t);
}
END_TEST

START_TEST(test_generate_no_overwrite)
{
	struct key_tmp	 t;
	unsigned char	 before[8192], after[8192];
	char		 err[1024] = "", want[1024], dangling[160];
	size_t		 nb, na;
	struct stat	 st;

	key_tmp_new(&t, "key.pem");
	ck_assert_int_eq(dkimkey_generate(t.path, DKIMKEY_ED25519, 0, err,
	    sizeof(err)), 0);
	nb = read_file(t.path, before, sizeof(before));
	snprintf(want, sizeof(want), "%s: already exists; a key file is never "
	    "replaced (choose another file, or a new selector to change keys)",
	    t.path);
	EXPECT_INT("dkimkey_generate", "existing Ed25519",
	    dkimkey_generate(t.path, DKIMKEY_ED25519, 0, err, sizeof(err)),
	    -1);
	EXPECT_STR("dkimkey_generate", "existing Ed25519", err, want);
	EXPECT_INT("dkimkey_generate", "existing RSA",
	    dkimkey_generate(t.path, DKIMKEY_RSA, 1024, err, sizeof(err)), -1);
	EXPECT_STR("dkimkey_generate", "existing RSA", err, want);
	na = read_file(t.path, after, sizeof(after));
	ck_assert_msg(na == nb && memcmp(before, after, na) == 0,
	    "dkimkey_generate: \"existing\": the file was changed");

	/* A dangling symbolic link is a name in use too: nothing may be
	   created where it points. */
	snprintf(dangling, sizeof(dangling), "%s/link.pem", t.dir);
	ck_assert_int_eq(symlink("target.pem", dangling), 0);
	snprintf(want, sizeof(want), "%s: already exists; a key file is never "
	    "replaced (choose another file, or a new selector to change keys)",
	    dangling);
	EXPECT_INT("dkimkey_generate", "dangling link",
	    dkimkey_generate(dangling, DKIMKEY_ED25519, 0, err, sizeof(err)),
	    -1);
	EXPECT_STR("dkimkey_generate", "dangling link", err, want);
	snprintf(dangling, sizeof(dangling), "%s/target.pem", t.dir);
	EXPECT_INT("dkimkey_generate", "dangling link target",
	    lstat(dangling, &st), -1);
	key_tmp_remove(&t);
}
END_TEST

START_TEST(test_generate_refused)
{
	struct key_tmp	 t;
	struct stat	 st;
	char		 err[1024] = "", want[1024], path[160];

	key_tmp_new(&t, "key.pem");
	EXPECT_INT("dkimkey_generate", "RSA 512",
	    dkimkey_generate(t.path, DKIMKEY_RSA, 512, err, sizeof(err)), -1);
	EXPECT_STR("dkimkey_generate", "RSA 512", err, "RSA key of 512 bits; "
	    "want 1024 to 4096 (2048 recommended)");
	EXPECT_INT("dkimkey_generate", "RSA 8192",
	    dkimkey_generate(t.path, DKIMKEY_RSA, 8192, err, sizeof(err)), -1);
	EXPECT_STR("dkimkey_generate", "RSA 8192", err, "RSA key of 8192 bits; "
	    "want 1024 to 4096 (2048 recommended)");
	EXPECT_INT("dkimkey_generate", "bits refused: no file",
	    lstat(t.path, &st), -1);

	snprintf(path, sizeof(path), "%s/no/such/dir/key.pem", t.dir);
	snprintf(want, sizeof(want), "%s: cannot create: No such file or "
	    "directory", path);
	EXPECT_INT("dkimkey_generate", "missing directory",
	    dkimkey_generate(path, DKIMKEY_ED25519, 0, err, sizeof(err)), -1);
	EXPECT_STR("dkimkey_generate", "missing directory", err, want);
	key_tmp_remove(&t);
}
END_TEST

START_TEST(test_alg_name)
{
	EXPECT_STR("dkimkey_alg_name", "rsa", dkimkey_alg_name(DKIMKEY_RSA),
	    "rsa");
	EXPECT_STR("dkimkey_alg_name", "ed25519",
	    dkimkey_alg_name(DKIMKEY_ED25519), "ed25519");
}
END_TEST

Suite *
dkimkey_suite(void)
{
	Suite	*s = suite_create("dkimkey");
	TCase	*tc = tcase_create("dkimkey");

	tcase_set_timeout(tc, KEY_TIMEOUT);
	tcase_add_loop_test(tc, test_load_refused, 0, (int)NELEM(refuse_cases));
	tcase_add_test(tc, test_load_unreadable);
	tcase_add_loop_test(tc, test_load_good, 0, (int)NELEM(load_cases));
	tcase_add_test(tc, test_load_symlink);
	tcase_add_test(tc, test_generate_mode);
	tcase_add_test(tc, test_generate_no_overwrite);
	tcase_add_test(tc, test_generate_refused);
	tcase_add_test(tc, test_alg_name);
	suite_add_tcase(s, tc);
	return s;
}
