/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config: command-line parsing from one table. Each entry names the flag,
 * the commands it belongs to, its argument, its help text and how to store
 * it; usage text is printed from the same table, so --help cannot drift from
 * what is parsed. It does not read files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/config.h"

enum kind { K_STR, K_UINT, K_SIZE, K_SECRET, K_LABEL, K_LEVEL, K_FLAG, K_FILE };

#define C_SERVE (1u << HW_CMD_SERVE)
#define C_GEN (1u << HW_CMD_GEN_CERTS)
#define C_CHECK (1u << HW_CMD_CHECK)
#define C_RENDER ((1u << HW_CMD_RENDER) | (1u << HW_CMD_LINT))
#define C_POLICY (C_SERVE | C_CHECK | C_RENDER)

struct option {
    const char *name;
    unsigned commands;
    enum kind kind;
    size_t offset;
    unsigned long long min, max;
    const char *metavar;
    const char *help;
};

#define OFF(f) offsetof(struct hw_config, f)

static const struct option options[] = {
    {"--tls-cert-file", C_SERVE | C_CHECK, K_STR, OFF(tls_cert_file), 0, 0, "FILE",
     "PEM serving certificate (chain); reloaded when it changes"},
    {"--tls-private-key-file", C_SERVE | C_CHECK, K_STR, OFF(tls_key_file), 0, 0, "FILE",
     "PEM private key of the serving certificate"},
    {"--client-ca-file", C_SERVE, K_STR, OFF(client_ca_file), 0, 0, "FILE",
     "require client certificates signed by this CA (kube-apiserver's admission kubeconfig)"},
    {"--port", C_SERVE, K_UINT, OFF(port), 0, 65535, "PORT", "HTTPS port (default 8443)"},
    {"--bind-address", C_SERVE, K_STR, OFF(bind_address), 0, 0, "IP",
     "address to listen on (default 0.0.0.0)"},
    {"--config", C_POLICY, K_STR, OFF(config_file), 0, 0, "FILE",
     "policy file (JSON); reloaded when it changes and on SIGHUP"},
    {"--image-pull-secret", C_POLICY, K_SECRET, 0, 0, 0, "NAME",
     "imagePullSecret to add to opted-in Jobs (repeatable; replaces the file's list)"},
    {"--label", C_POLICY, K_LABEL, 0, 0, 0, "KEY=VALUE",
     "opt-in label (default hookwarden.io/migration=true)"},
    {"--max-request-bytes", C_SERVE, K_SIZE, OFF(max_request_bytes), 1024, 1ull << 30, "N",
     "largest AdmissionReview accepted (default 8388608)"},
    {"--max-request-memory", C_SERVE, K_SIZE, OFF(max_request_memory), 65536, 1ull << 34, "N",
     "memory for the JSON values of one AdmissionReview; past it 413 (default: --max-request-bytes, at least 4 MiB)"},
    {"--connection-limit", C_SERVE, K_UINT, OFF(connection_limit), 1, 1000000, "N",
     "most connections open at once (default 1024)"},
    {"--idle-timeout", C_SERVE, K_UINT, OFF(idle_timeout), 1, 3600, "SECONDS",
     "close a connection idle this long (default 60)"},
    {"--threads", C_SERVE, K_UINT, OFF(threads), 1, 64, "N", "HTTPS workers (default: cores)"},
    {"--metrics-bind-address", C_SERVE, K_STR, OFF(metrics_bind_address), 0, 0, "HOST:PORT",
     "also serve /metrics, /healthz, /readyz over plain HTTP here"},
    {"--reload-interval-ms", C_SERVE, K_UINT, OFF(reload_interval_ms), 1, 60000, "MS",
     "how often the policy, certificate and key files are re-read (default 1000)"},
    {"--shutdown-grace-period", C_SERVE, K_UINT, OFF(shutdown_grace), 0, 3600, "SECONDS",
     "on SIGTERM, keep serving this long with /readyz failing (default 5)"},
    {"--shutdown-timeout", C_SERVE, K_UINT, OFF(shutdown_timeout), 0, 3600, "SECONDS",
     "then wait this long for requests in flight (default 10)"},
    {"--log-level", C_SERVE | C_RENDER, K_LEVEL, OFF(log_level), 0, 0, "LEVEL",
     "debug, info, warn, error or off (default info)"},
    {"--dir", C_GEN, K_STR, OFF(dir), 0, 0, "DIR", "where gen-certs writes ca.crt, ca.key, tls.crt, tls.key"},
    {"--service", C_GEN, K_STR, OFF(service), 0, 0, "NAME", "Service name for the SANs"},
    {"--namespace", C_GEN, K_STR, OFF(namespace_), 0, 0, "NS", "Service namespace for the SANs"},
    {"--namespace", C_RENDER, K_STR, OFF(namespace_), 0, 0, "NS",
     "namespace of documents that name none (default: $HELM_NAMESPACE, else none)"},
    {"--days", C_GEN, K_UINT, OFF(days), 1, 3650, "N", "validity in days (default 365)"},
    {"--loopback", C_GEN, K_FLAG, OFF(loopback), 0, 0, NULL,
     "also make the pair valid for localhost and 127.0.0.1 (development and tests only)"},
    {"-f", C_RENDER, K_FILE, 0, 0, 0, "FILE", "manifest file to read, - for stdin (repeatable)"},
    {"--strict", C_RENDER, K_FLAG, OFF(strict), 0, 0, NULL, "lint: exit 1 on any warning too"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const struct {
    const char *name;
    enum hw_command cmd;
} commands[] = {
    {"serve", HW_CMD_SERVE}, {"gen-certs", HW_CMD_GEN_CERTS}, {"check", HW_CMD_CHECK},
    {"--check", HW_CMD_CHECK}, {"render", HW_CMD_RENDER}, {"lint", HW_CMD_LINT},
    {"--version", HW_CMD_VERSION}, {"version", HW_CMD_VERSION}, {"--help", HW_CMD_HELP},
    {"-h", HW_CMD_HELP}, {"help", HW_CMD_HELP},
};

static void
defaults(struct hw_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->port = 8443;
    cfg->bind_address = "0.0.0.0";
    cfg->max_request_bytes = 8ull << 20;
    cfg->connection_limit = 1024;
    cfg->idle_timeout = 60;
    cfg->shutdown_grace = 5;
    cfg->shutdown_timeout = 10;
    cfg->log_level = HW_LOG_INFO;
    cfg->days = 365;
}

static int
parse_number(const char *flag, const char *v, unsigned long long min, unsigned long long max,
             unsigned long long *out, struct hw_error *err)
{
    char *end;

    errno = 0;
    *out = strtoull(v, &end, 10);
    if (v[0] == '\0' || v[0] == '-' || *end != '\0' || errno != 0 || *out < min || *out > max) {
        hw_error_set(err, HW_EINVAL, "%s %s: expected a number from %llu to %llu", flag, v, min, max);
        return -1;
    }
    return 0;
}

static int
store(const struct option *o, const char *v, struct hw_config *cfg, struct hw_error *err)
{
    char *base = (char *)cfg;
    unsigned long long n;
    const char *eq;

    switch (o->kind) {
    case K_STR:
        *(const char **)(base + o->offset) = v;
        return 0;
    case K_UINT:
        if (parse_number(o->name, v, o->min, o->max ? o->max : 4294967295u, &n, err) != 0)
            return -1;
        *(unsigned *)(base + o->offset) = (unsigned)n;
        return 0;
    case K_SIZE:
        if (parse_number(o->name, v, o->min, o->max, &n, err) != 0)
            return -1;
        *(unsigned long long *)(base + o->offset) = n;
        return 0;
    case K_SECRET:
        if (cfg->n_pull_secrets == HW_CONFIG_MAX_SECRETS) {
            hw_error_set(err, HW_EINVAL, "at most %d --image-pull-secret flags", HW_CONFIG_MAX_SECRETS);
            return -1;
        }
        cfg->pull_secrets[cfg->n_pull_secrets++] = v;
        return 0;
    case K_LABEL:
        eq = strchr(v, '=');
        if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(cfg->label_key) ||
            strlen(eq + 1) >= sizeof(cfg->label_value)) {
            hw_error_set(err, HW_EINVAL, "--label %s: expected KEY=VALUE", v);
            return -1;
        }
        memcpy(cfg->label_key, v, (size_t)(eq - v));
        cfg->label_key[eq - v] = '\0';
        strcpy(cfg->label_value, eq + 1);
        cfg->label_set = 1;
        return 0;
    case K_LEVEL:
        if (hw_log_parse_level(v, &cfg->log_level) != 0) {
            hw_error_set(err, HW_EINVAL, "--log-level %s: expected debug, info, warn, error or off", v);
            return -1;
        }
        return 0;
    case K_FILE:
        if (cfg->n_files == sizeof(cfg->files) / sizeof(cfg->files[0])) {
            hw_error_set(err, HW_EINVAL, "too many -f files");
            return -1;
        }
        cfg->files[cfg->n_files++] = v;
        return 0;
    case K_FLAG:
        *(int *)(base + o->offset) = 1;
        return 0;
    }
    return -1;
}

static const char *
command_name(enum hw_command c)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].cmd == c)
            return commands[i].name;
    }
    return "?";
}

int
hw_config_parse(int argc, char **argv, struct hw_config *cfg, struct hw_error *err)
{
    defaults(cfg);
    /* The command may come anywhere (hookwarden --check --config F). */
    for (int i = 1; i < argc && cfg->command == HW_CMD_NONE; i++) {
        for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
            if (strcmp(argv[i], commands[c].name) == 0)
                cfg->command = commands[c].cmd;
        }
    }
    if (cfg->command == HW_CMD_NONE) {
        hw_error_set(err, HW_EINVAL, "no command given: try hookwarden --help");
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq = NULL;
        const struct option *o = NULL;
        size_t namelen = strlen(arg);
        int is_cmd = 0;

        for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
            is_cmd |= strcmp(arg, commands[c].name) == 0 && commands[c].cmd == cfg->command;
        if (is_cmd)
            continue;
        if (strncmp(arg, "--", 2) == 0 && (eq = strchr(arg, '=')) != NULL)
            namelen = (size_t)(eq - arg);
        /* The entry for this command when a flag means different things. */
        for (size_t k = 0; k < N_OPTIONS; k++) {
            if (strlen(options[k].name) == namelen && strncmp(arg, options[k].name, namelen) == 0 &&
                (o == NULL || (options[k].commands & (1u << cfg->command))))
                o = &options[k];
        }
        if (o == NULL || !(o->commands & (1u << cfg->command))) {
            hw_error_set(err, HW_EINVAL, "%s: unknown flag for %s (see hookwarden --help)", arg,
                         command_name(cfg->command));
            return -1;
        }
        if (o->kind != K_FLAG) {
            if (eq != NULL)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                hw_error_set(err, HW_EINVAL, "%s needs a value (%s)", o->name, o->metavar);
                return -1;
            }
        }
        if (store(o, val, cfg, err) != 0)
            return -1;
    }
    return 0;
}

void
hw_config_overrides(const struct hw_config *cfg, struct hw_policy_overrides *ov)
{
    memset(ov, 0, sizeof(*ov));
    if (cfg->label_set) {
        ov->label_key = cfg->label_key;
        ov->label_value = cfg->label_value;
    }
    ov->pull_secrets = cfg->pull_secrets;
    ov->n_pull_secrets = cfg->n_pull_secrets;
}

static void
usage_for(FILE *out, unsigned mask)
{
    for (size_t k = 0; k < N_OPTIONS; k++) {
        char left[64];

        if (!(options[k].commands & mask))
            continue;
        snprintf(left, sizeof(left), "%s%s%s", options[k].name, options[k].metavar ? " " : "",
                 options[k].metavar ? options[k].metavar : "");
        fprintf(out, "  %-34s %s\n", left, options[k].help);
    }
}

void
hw_config_usage(FILE *out)
{
    fprintf(out,
            "hookwarden %s: a mutating admission webhook that makes labelled migration Jobs\n"
            "safe Helm hooks.\n\n"
            "usage:\n"
            "  hookwarden serve --tls-cert-file F --tls-private-key-file F [flags]\n"
            "  hookwarden gen-certs --dir DIR --service NAME --namespace NS [--days N] [--loopback]\n"
            "  hookwarden --check --config FILE [--tls-cert-file F --tls-private-key-file F]\n"
            "  hookwarden render [-f FILE|-] [--config FILE]   apply the policy to manifests\n"
            "  hookwarden lint [-f FILE|-] [--config FILE] [--strict]\n"
            "  hookwarden --version | --help\n\nserve:\n",
            HW_VERSION);
    usage_for(out, C_SERVE);
    fprintf(out, "\ngen-certs:\n");
    usage_for(out, C_GEN);
    fprintf(out, "\nrender, lint:\n");
    usage_for(out, C_RENDER & ~C_SERVE);
    fprintf(out, "\nSignals: SIGHUP re-reads the policy and certificate; SIGTERM and SIGINT shut\n"
                 "down gracefully (readiness fails first, then requests in flight finish).\n");
}
