/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main: the commands. serve wires config, reload and server together and
 * runs the signal loop (SIGHUP reloads; SIGTERM/SIGINT drain and exit 0);
 * gen-certs and --check are thin calls into certs and policy. Everything
 * with logic lives in the library so the tests drive the same code.
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
    if (hw_certs_generate(cfg->dir, cfg->service, cfg->namespace_, (int)cfg->days, &err) != 0) {
        fprintf(stderr, "hookwarden gen-certs: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s/ca.crt, ca.key, tls.crt, tls.key for %s.%s.svc\n", cfg->dir, cfg->service,
           cfg->namespace_);
    return 0;
}

static int
cmd_check(const struct hw_config *cfg)
{
    struct hw_policy_overrides ov;
    struct hw_error err = {0};
    struct hw_policy *p;
    struct hw_buf report;
    int problems = 0;

    hw_config_overrides(cfg, &ov);
    hw_buf_init(&report, 0);
    if (cfg->config_file != NULL) {
        FILE *f = fopen(cfg->config_file, "rb");
        struct hw_buf text;
        char chunk[8192];
        size_t n;

        hw_buf_init(&text, 2u << 20);
        if (f == NULL) {
            hw_buf_printf(&report, "%s:1:1: cannot open: %s\n", cfg->config_file, strerror(errno));
            problems++;
        } else {
            while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && hw_buf_append(&text, chunk, n) == 0) {
            }
            fclose(f);
            problems += hw_policy_check(text.data ? text.data : "", text.len, cfg->config_file, &report);
        }
        hw_buf_free(&text);
    }
    /* The flags are checked as the server would apply them. */
    p = problems == 0 ? hw_policy_new_default(&ov, &err) : NULL;
    if (problems == 0 && p == NULL) {
        hw_buf_printf(&report, "command line: %s\n", err.msg);
        problems++;
    }
    hw_policy_unref(p);
    if (cfg->tls_cert_file != NULL || cfg->tls_key_file != NULL) {
        struct hw_certs_pair pair;

        hw_error_clear(&err);
        if (cfg->tls_cert_file == NULL || cfg->tls_key_file == NULL) {
            hw_buf_printf(&report, "command line: --tls-cert-file and --tls-private-key-file go together\n");
            problems++;
        } else if (hw_certs_load(cfg->tls_cert_file, cfg->tls_key_file, time(NULL), &pair, &err) != 0) {
            hw_buf_printf(&report, "%s\n", err.msg);
            problems++;
        } else {
            printf("certificate %s: %s, SANs %s, expires %ld, sha256 %s\n", cfg->tls_cert_file,
                   pair.info.subject, pair.info.sans, (long)pair.info.not_after, pair.info.sha256);
            hw_certs_pair_clear(&pair);
        }
    }
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

static int
cmd_serve(const struct hw_config *cfg)
{
    struct hw_policy_overrides ov;
    struct hw_reload_options ro = {0};
    struct hw_server_options so = {0};
    struct hw_certs_pair pair = {0};
    struct hw_server *server = NULL;
    struct hw_error err = {0};
    char *ca_pem = NULL;
    struct timespec t0, grace_end;
    sigset_t set;
    int sig, rc = 1;

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

    hw_config_overrides(cfg, &ov);
    ro.policy_path = cfg->config_file;
    ro.overrides = &ov;
    ro.cert_path = cfg->tls_cert_file;
    ro.key_path = cfg->tls_key_file;
    if (hw_reload_init(&ro, &pair, &err) != 0)
        goto out;
    so.bind_address = cfg->bind_address;
    so.port = cfg->port;
    so.max_request_bytes = (size_t)cfg->max_request_bytes;
    so.connection_limit = cfg->connection_limit;
    so.idle_timeout_seconds = cfg->idle_timeout;
    so.threads = cfg->threads;
    so.metrics_bind_address = cfg->metrics_bind_address;
    if (cfg->client_ca_file != NULL) {
        if (hw_certs_load_ca(cfg->client_ca_file, &ca_pem, &so.client_ca_len, &err) != 0)
            goto out;
        so.client_ca_pem = ca_pem;
    }
    server = hw_server_start(&so, &pair, &err);
    hw_certs_pair_clear(&pair);
    if (server == NULL || hw_reload_start(server, &err) != 0)
        goto out;
    {
        struct timespec t1;
        struct hw_policy *p = hw_reload_policy();

        clock_gettime(CLOCK_MONOTONIC, &t1);
        hw_log(HW_LOG_INFO, "serving", "{s:s, s:i, s:s, s:s, s:f}", "bind_address", cfg->bind_address,
               "port", (int)hw_server_port(server), "policy", hw_policy_source(p), "version",
               HW_VERSION, "startup_ms",
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        hw_policy_unref(p);
    }
    while ((sig = wait_signal(&set, NULL)) == SIGHUP) {
        hw_log(HW_LOG_INFO, "SIGHUP: checking policy and certificate", NULL);
        hw_reload_now();
    }
    hw_log(HW_LOG_INFO, "shutting down: readiness off, still serving", "{s:s, s:i}", "signal",
           sig == SIGINT ? "SIGINT" : "SIGTERM", "grace_seconds", (int)cfg->shutdown_grace);
    hw_server_begin_shutdown(server);
    /* A second SIGTERM or SIGINT ends the grace period early; SIGHUP does not. */
    clock_gettime(CLOCK_MONOTONIC, &grace_end);
    grace_end.tv_sec += cfg->shutdown_grace;
    while (wait_signal(&set, &grace_end) == SIGHUP)
        hw_reload_now();
    hw_log(HW_LOG_INFO, "draining requests in flight", "{s:i}", "timeout_seconds",
           (int)cfg->shutdown_timeout);
    hw_server_stop(server, cfg->shutdown_timeout * 1000u);
    server = NULL;
    hw_log(HW_LOG_INFO, "stopped", NULL);
    rc = 0;
out:
    if (rc != 0)
        hw_log(HW_LOG_ERROR, "cannot serve", "{s:s}", "error", err.msg[0] ? err.msg : "unknown");
    hw_server_stop(server, 0);
    hw_reload_stop();
    hw_certs_pair_clear(&pair);
    free(ca_pem);
    return rc;
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
        return hw_render_main(&cfg);
    case HW_CMD_EXPORT:
        return cmd_export(&cfg);
    default:
        hw_config_usage(stderr);
        return 2;
    }
}
