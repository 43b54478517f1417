/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main: the commands. serve wires config, reload and server together,
 * owns the order they start and stop in (the reload thread stops before
 * the server it installs certificates into, the policy source is freed
 * after the server that asks it), and runs the signal loop (SIGHUP
 * reloads; SIGTERM/SIGINT drain and exit 0). gen-certs and --check are thin
 * calls into certs and policy. Everything with logic lives in the library
 * so the tests drive the same code.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hookwarden/certs.h"
#include "hookwarden/config.h"
#include "hookwarden/export.h"
#include "hookwarden/file.h"
#include "hookwarden/log.h"
#include "hookwarden/reload.h"
#include "hookwarden/render.h"
#include "hookwarden/server.h"

static int
cmd_gen_certs(const struct hw_config *cfg)
{
    struct hw_error err = {0};

    if (cfg->dir == NULL || cfg->service == NULL || cfg->namespace_ == NULL) {
        fprintf(stderr, "hookwarden gen-certs: --dir, --service and --namespace are required\n");
        return 2;
    }
    if (hw_certs_generate(cfg->dir, cfg->service, cfg->namespace_, (int)cfg->days, cfg->loopback,
                          &err) != 0) {
        fprintf(stderr, "hookwarden gen-certs: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s/ca.crt, ca.key, tls.crt, tls.key for %s.%s.svc\n", cfg->dir, cfg->service,
           cfg->namespace_);
    return 0;
}

/* --check of the serving pair: problems into report, a description to stdout. */
static int
check_pair(const struct hw_config *cfg, struct hw_buf *report)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    char nb[32], na[32], why[96];

    if (cfg->tls_cert_file == NULL && cfg->tls_key_file == NULL)
        return 0;
    if (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL) {
        hw_buf_printf(report, "command line: --tls-cert-file and --tls-private-key-file go together\n");
        return 1;
    }
    if (hw_certs_load(cfg->tls_cert_file, cfg->tls_key_file, &pair, &err) != 0) {
        hw_buf_printf(report, "%s\n", err.msg);
        return 1;
    }
    hw_certs_format_time(pair.info.not_before, nb, sizeof(nb));
    hw_certs_format_time(pair.info.not_after, na, sizeof(na));
    printf("certificate %s: %s, SANs %s, valid from %s to %s, sha256 %s\n", cfg->tls_cert_file,
           pair.info.subject, pair.info.sans, nb, na, pair.info.sha256);
    if (hw_certs_validity(&pair.info, time(NULL), why, sizeof(why)) != HW_CERTS_VALID) {
        hw_buf_printf(report, "certificate %s %s (valid from %s to %s)\n", cfg->tls_cert_file, why,
                      nb, na);
        hw_certs_pair_clear(&pair);
        return 1;
    }
    hw_certs_pair_clear(&pair);
    return 0;
}

static int
cmd_check(const struct hw_config *cfg)
{
    struct hw_policy_overrides ov;
    struct hw_error err = {0};
    struct hw_policy *p;
    struct hw_buf report, text;
    int problems = 0;

    hw_config_overrides(cfg, &ov);
    hw_buf_init(&report, 0);
    if (cfg->config_file != NULL) {
        if (hw_file_read(cfg->config_file, "policy file", HW_POLICY_FILE_MAX, &text, &err) != 0) {
            hw_buf_printf(&report, "%s:1:1: %s\n", cfg->config_file, err.msg);
            problems++;
        } else {
            problems += hw_policy_check(text.data ? text.data : "", text.len, cfg->config_file, &report);
            hw_buf_free(&text);
        }
    }
    /* The flags are checked as the server would apply them. */
    hw_error_clear(&err);
    p = problems == 0 ? hw_policy_new_default(&ov, &err) : NULL;
    if (problems == 0 && p == NULL) {
        hw_buf_printf(&report, "command line: %s\n", err.msg);
        problems++;
    }
    hw_policy_unref(p);
    problems += check_pair(cfg, &report);
    if (report.len > 0)
        fputs(report.data, stderr);
    hw_buf_free(&report);
    if (problems == 0)
        printf("%s: ok\n", cfg->config_file ? cfg->config_file : "built-in default policy");
    return problems == 0 ? 0 : 1;
}

/* export admission-policy: the policy as serve would load it (file and
 * policy flags), written as native admission policies to stdout. */
static int
cmd_export(const struct hw_config *cfg)
{
    struct hw_export_options opt = {.name = cfg->export_name};
    struct hw_policy_overrides ov;
    struct hw_error err = {0};
    struct hw_buf out, notes;
    struct hw_policy *p;
    int rc = 1;

    hw_config_overrides(cfg, &ov);
    p = cfg->config_file ? hw_policy_load(cfg->config_file, &ov, &err) : hw_policy_new_default(&ov, &err);
    hw_buf_init(&out, 16u << 20);
    hw_buf_init(&notes, 0);
    if (p == NULL || hw_export_admission_policy(p, &opt, &out, &notes, &err) != 0) {
        fprintf(stderr, "hookwarden export: %s\n", err.msg);
        goto out;
    }
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "hookwarden export: cannot write stdout: %s\n", strerror(errno));
        goto out;
    }
    if (notes.len > 0)
        fprintf(stderr, "%.*s", (int)notes.len, notes.data);
    rc = 0;
out:
    hw_buf_free(&notes);
    hw_buf_free(&out);
    hw_policy_unref(p);
    return rc;
}

/* Waits for a signal in set until the CLOCK_MONOTONIC time end (forever
 * when NULL); 0 when the time ran out. An interruption waits again for what
 * remains, so only a real signal ends a grace period early. */
static int
wait_signal(const sigset_t *set, const struct timespec *end)
{
    struct timespec now, left;
    int sig;

    if (end == NULL) {
        while (sigwait(set, &sig) != 0) {
        }
        return sig;
    }
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        left.tv_sec = end->tv_sec - now.tv_sec;
        left.tv_nsec = end->tv_nsec - now.tv_nsec;
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (left.tv_sec < 0)
            return 0;
        sig = sigtimedwait(set, NULL, &left);
        if (sig > 0)
            return sig;
        if (errno == EAGAIN)
            return 0;
    }
}

/* What serve runs, and the order it stops in. */
struct serving {
    struct hw_policy_overrides ov;
    struct hw_reload *reload;
    struct hw_server *server;
    char *ca_pem;
};

static int
install_pair(void *server, const struct hw_certs_pair *pair, struct hw_error *err)
{
    return hw_server_set_certificate(server, pair, err);
}

static struct hw_policy *
source_policy(void *reload)
{
    return hw_reload_policy(reload);
}

static unsigned long
source_policy_generation(void *reload)
{
    return hw_reload_policy_generation(reload);
}

static int
source_ready(void *reload, char *why, size_t whysz)
{
    return hw_reload_is_ready(reload, why, whysz);
}

static void
server_options(const struct hw_config *cfg, struct serving *sv, struct hw_server_options *so)
{
    memset(so, 0, sizeof(*so));
    so->bind_address = cfg->bind_address;
    so->port = cfg->port;
    so->max_request_bytes = (size_t)cfg->max_request_bytes;
    so->max_request_memory = (size_t)cfg->max_request_memory;
    so->connection_limit = cfg->connection_limit;
    so->idle_timeout_seconds = cfg->idle_timeout;
    so->threads = cfg->threads;
    so->metrics_bind_address = cfg->metrics_bind_address;
    so->policy = source_policy;
    so->policy_generation = source_policy_generation;
    so->ready = source_ready;
    so->source_ctx = sv->reload;
}

/* Loads policy and pair, starts the server on them, then the reload
 * thread that installs renewed pairs into it. */
static int
serving_start(struct serving *sv, const struct hw_config *cfg, struct hw_error *err)
{
    struct hw_reload_options ro = {0};
    struct hw_server_options so;
    struct hw_certs_pair pair = {0};

    hw_config_overrides(cfg, &sv->ov);
    ro.policy_path = cfg->config_file;
    ro.overrides = &sv->ov;
    ro.cert_path = cfg->tls_cert_file;
    ro.key_path = cfg->tls_key_file;
    ro.interval_ms = cfg->reload_interval_ms;
    if ((sv->reload = hw_reload_new(&ro, &pair, err)) == NULL)
        return -1;
    server_options(cfg, sv, &so);
    if (cfg->client_ca_file != NULL) {
        if (hw_certs_load_ca(cfg->client_ca_file, &sv->ca_pem, &so.client_ca_len, err) != 0) {
            hw_certs_pair_clear(&pair);
            return -1;
        }
        so.client_ca_pem = sv->ca_pem;
    }
    sv->server = hw_server_start(&so, &pair, err);
    hw_certs_pair_clear(&pair);
    if (sv->server == NULL)
        return -1;
    hw_reload_set_installer(sv->reload, install_pair, sv->server);
    return hw_reload_start(sv->reload, err);
}

/* The reload thread first (it installs into the server), then the server
 * (its workers ask the reload object for the policy), then the rest. */
static void
serving_stop(struct serving *sv, unsigned drain_ms)
{
    hw_reload_stop(sv->reload);
    hw_server_stop(sv->server, drain_ms);
    sv->server = NULL;
    hw_reload_free(sv->reload);
    sv->reload = NULL;
    free(sv->ca_pem);
    sv->ca_pem = NULL;
}

static void
log_serving(const struct hw_config *cfg, struct serving *sv, const struct timespec *t0)
{
    struct hw_policy *p = hw_reload_policy(sv->reload);
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    hw_log(HW_LOG_INFO, "serving", "{s:s, s:i, s:s, s:s, s:f}", "bind_address", cfg->bind_address,
           "port", (int)hw_server_port(sv->server), "policy", hw_policy_source(p), "version",
           HW_VERSION, "startup_ms",
           (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6);
    hw_policy_unref(p);
}

/* Serves until SIGTERM or SIGINT, then turns readiness off and keeps
 * serving for the grace period (a second signal ends it early). */
static void
serving_wait(struct serving *sv, const struct hw_config *cfg, const sigset_t *set)
{
    struct timespec grace_end;
    int sig;

    while ((sig = wait_signal(set, NULL)) == SIGHUP) {
        hw_log(HW_LOG_INFO, "SIGHUP: checking policy and certificate", NULL);
        hw_reload_kick(sv->reload);
    }
    hw_log(HW_LOG_INFO, "shutting down: readiness off, still serving", "{s:s, s:i}", "signal",
           sig == SIGINT ? "SIGINT" : "SIGTERM", "grace_seconds", (int)cfg->shutdown_grace);
    hw_server_begin_shutdown(sv->server);
    clock_gettime(CLOCK_MONOTONIC, &grace_end);
    grace_end.tv_sec += cfg->shutdown_grace;
    while (wait_signal(set, &grace_end) == SIGHUP)
        hw_reload_kick(sv->reload);
}

static int
cmd_serve(const struct hw_config *cfg)
{
    struct serving sv = {0};
    struct hw_error err = {0};
    struct timespec t0;
    sigset_t set;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL) {
        fprintf(stderr, "hookwarden serve: --tls-cert-file and --tls-private-key-file are required "
                        "(hookwarden gen-certs makes a development pair)\n");
        return 2;
    }
    /* Signals go to this thread's sigwait only, never to workers. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (serving_start(&sv, cfg, &err) != 0) {
        hw_log(HW_LOG_ERROR, "cannot serve", "{s:s}", "error", err.msg[0] ? err.msg : "unknown");
        serving_stop(&sv, 0);
        return 1;
    }
    log_serving(cfg, &sv, &t0);
    serving_wait(&sv, cfg, &set);
    hw_log(HW_LOG_INFO, "draining requests in flight", "{s:i}", "timeout_seconds",
           (int)cfg->shutdown_timeout);
    serving_stop(&sv, cfg->shutdown_timeout * 1000u);
    hw_log(HW_LOG_INFO, "stopped", NULL);
    return 0;
}

int
main(int argc, char **argv)
{
    struct hw_config cfg;
    struct hw_error err = {0};

    if (hw_config_parse(argc, argv, &cfg, &err) != 0) {
        fprintf(stderr, "hookwarden: %s\n", err.msg);
        return 2;
    }
    hw_log_set_level(cfg.log_level);
    switch (cfg.command) {
    case HW_CMD_VERSION:
        printf("hookwarden %s\n", HW_VERSION);
        return 0;
    case HW_CMD_HELP:
        return hw_config_usage_command(stdout, cfg.help_for);
    case HW_CMD_GEN_CERTS:
        return cmd_gen_certs(&cfg);
    case HW_CMD_CHECK:
        return cmd_check(&cfg);
    case HW_CMD_SERVE:
        return cmd_serve(&cfg);
    case HW_CMD_RENDER:
    case HW_CMD_LINT:
    case HW_CMD_POLICY_SHOW:
        return hw_render_main(&cfg);
    case HW_CMD_EXPORT:
        return cmd_export(&cfg);
    default:
        hw_config_usage(stderr);
        return 2;
    }
}
