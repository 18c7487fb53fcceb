/*
 * config.h - sesgate.conf as the programs see it: one struct, built once by
 * config_load() and never written after. Sections: [global], [redis],
 * [policyd], [milter], [feedbackd]. A reload builds a new struct and
 * swaps the pointer; a failed reload leaves the running one in place.
 */
#ifndef SESGATE_CONFIG_H
#define SESGATE_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH	SYSCONFDIR "/sesgate/sesgate.conf"
/* A count or rate that has no limit. */
#define CONFIG_UNLIMITED	(-1)

enum config_store_action {
	STORE_ACTION_DEFER_IF_PERMIT,
	STORE_ACTION_DEFER,
	STORE_ACTION_DUNNO,
};

enum config_milter_action {
	MILTER_ACTION_TEMPFAIL,
	MILTER_ACTION_ACCEPT,
};

/* What an inbound verdict leads to (on_spf_fail, on_dmarc_*). */
enum config_inbound_action {
	INBOUND_RECORD,		/* only in Authentication-Results */
	INBOUND_REJECT,
	INBOUND_QUARANTINE,	/* the MTA's hold queue */
};

enum config_canon {
	CANON_RELAXED,
	CANON_SIMPLE,
};

enum config_sender_identity {
	SENDER_IDENTITY_SASL,		/* SASL user, else envelope sender */
	SENDER_IDENTITY_ENVELOPE,	/* always the envelope sender */
};

/* Limits of one quota level; CONFIG_UNLIMITED where there is none. */
struct config_limits {
	long long	max_24h;	/* per quota_window */
	double		max_rate;	/* per second */
	long long	burst;		/* 0: one second's worth */
};

struct config {
	char			*path;

	/* [global] */
	char			*region;
	int			 log_facility;
	int			 log_level;
	struct cidr_list	*internal_hosts;
	char			*user;		/* who to become if root */
	bool			 allow_root;
	char			*socket_group;	/* "": the user's group */

	/* [redis] */
	char			*redis_url;
	char			*redis_prefix;
	long long		 redis_connect_timeout_ms;
	long long		 redis_timeout_ms;
	char			*suppression_hash_key;	/* "": off */

	/* [policyd] */
	char			**policyd_listen;	/* NULL-terminated */
	long long		 policyd_socket_mode;
	long long		 policyd_max_connections;
	long long		 policyd_idle_timeout_ms;
	int			 policyd_on_store_error;
	bool			 policyd_verify_sender;
	int			 policyd_sender_identity;
	long long		 policyd_max_recipients;
	long long		 policyd_quota_window_ms;
	bool			 policyd_sandbox;
	struct config_limits	 policyd_sandbox_limits;
	struct config_limits	 policyd_account;
	struct config_limits	 policyd_domain;
	struct config_limits	 policyd_sender;

	/* [feedbackd] */
	char			**feedbackd_listen;	/* NULL-terminated */
	char			*feedbackd_path;
	char			*feedbackd_tls_cert;	/* "": no TLS */
	char			*feedbackd_tls_key;
	char			**feedbackd_metrics_listen;
	char			*feedbackd_cert_dir;
	char			**feedbackd_topic_arns;	/* empty: any */
	bool			 feedbackd_fetch;
	char			*feedbackd_fetch_ca_file;	/* "": system */
	char			**feedbackd_fetch_connect_to;
	long long		 feedbackd_fetch_timeout_ms;
	long long		 feedbackd_max_body;	/* bytes */
	long long		 feedbackd_dedupe_ttl_ms;
	char			*feedbackd_spool;	/* file path */
	double			 feedbackd_bounce_review;	/* percent */
	double			 feedbackd_bounce_pause;
	double			 feedbackd_complaint_review;
	double			 feedbackd_complaint_pause;
	long long		 feedbackd_min_sends;
	char			*feedbackd_user_tag;	/* "": none */
	long long		 feedbackd_soft_limit;	/* 0: off */
	long long		 feedbackd_soft_window_ms;

	/* [milter] */
	char			*milter_listen;		/* libmilter socket */
	char			**milter_outbound_daemons;
	char			**milter_dkim_keys;	/* "domain selector path" */
	bool			 milter_dual_sign;
	bool			 milter_sign_subdomains;
	struct config_canon_pair {
		int		 header, body;	/* enum config_canon */
	}			 milter_canon;
	char			**milter_sign_headers;
	char			**milter_oversign_headers;
	long long		 milter_max_message_size;	/* bytes */
	bool			 milter_verify_from;
	long long		 milter_identity_cache_ms;	/* 0: off */
	long long		 milter_max_recipients;
	char			**milter_configuration_sets; /* "who set [tags]" */
	bool			 milter_policy_checks;
	int			 milter_on_store_error;	/* config_milter_action */
	char			*milter_authserv_id;	/* "": the host name */
	char			*milter_dns_resolver;	/* "": resolv.conf */
	long long		 milter_dns_timeout_ms;
	long long		 milter_dns_cache_size;	/* bytes */
	char			*milter_public_suffix_list;
	bool			 milter_received_spf;
	int			 milter_on_spf_fail;	/* config_inbound_action */
	int			 milter_on_dmarc_reject;
	int			 milter_on_dmarc_quarantine;
	int			 milter_on_dns_error;	/* config_milter_action */
	struct cidr_list	*milter_ip_allow;
	struct cidr_list	*milter_ip_block;
	char			**milter_receipt_rules;	/* receipt.h lines */
	long long		 milter_receipt_stream_maxlen;
};

/* Read and check the whole file. The config, or NULL with every problem,
   one per line ("FILE:LINE: [section] key: what is wrong"), in *errors_out
   (caller frees). A missing or unreadable file is such a problem. */
struct config	*config_load(const char *path, char **errors_out);
/* config_load() for a reload: on errors they are logged ("WHO: reload:
   configuration errors; keeping the running one:" and the list) and the
   result is NULL. */
struct config	*config_reload(const char *path, const char *who);
/* Defaults only, as if the file were empty. */
struct config	*config_defaults(void);
/* Write the effective configuration in sesgate.conf form (secrets shown
   as "(set)"). */
void		 config_print(const struct config *cf, FILE *fp);
/* Iterate the option table: *section_out and *name_out of option i;
   false past the end. For the documentation check. */
bool		 config_option(size_t i, const char **section_out,
		    const char **name_out);
/* Free; *cfp becomes NULL. Accepts NULL. */
void		 config_free(struct config **cfp);

/* Name of a store-error action, e.g. "defer_if_permit". */
const char	*config_store_action_name(int action);
/* Whether v has the form of an AWS region name (us-east-1). */
bool		 config_region_ok(const char *v);
/* Whether a header may be DKIM-signed: not one SES rewrites or strips
   (Message-ID, Date, Return-Path, Bounces-To, X-SES-*). */
bool		 config_header_signable(const char *name);

#endif
