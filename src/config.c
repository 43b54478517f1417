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
#include "hookwarden/export.h"

enum kind {
    K_STR, K_UINT, K_SIZE, K_SECRET, K_LABEL, K_LEVEL, K_FLAG, K_BOOL, K_FILE, K_SERVICE, K_NAMESPACE,
    K_EXPORT_NAME
};

#define C_SERVE (1u << HW_CMD_SERVE)
#define C_GEN (1u << HW_CMD_GEN_CERTS)
#define C_CHECK (1u << HW_CMD_CHECK)
#define C_RENDER ((1u << HW_CMD_RENDER) | (1u << HW_CMD_LINT))
#define C_LINT (1u << HW_CMD_LINT)
#define C_SHOW (1u << HW_CMD_POLICY_SHOW)
#define C_EXPORT (1u << HW_CMD_EXPORT)
#define C_POLICY (C_SERVE | C_CHECK | C_RENDER | C_SHOW | C_EXPORT)

/* One flag of one or more commands. The default shown by --help is read
 * from a defaults() configuration, so it is the one the code uses; unset
 * names what a zero or NULL default means. */
struct option {
    const char *name;
    unsigned commands;
    enum kind kind;
    size_t offset;
    unsigned long long min, max;
    const char *metavar;
    const char *help;
    const char *unset;
};

#define OFF(f) offsetof(struct hw_config, f)

static const struct option options[] = {
    {"--tls-cert-file", C_SERVE, K_STR, OFF(tls_cert_file), 0, 0, "FILE",
     "PEM serving certificate (chain); re-read when it changes (required)", NULL},
    {"--tls-private-key-file", C_SERVE, K_STR, OFF(tls_key_file), 0, 0, "FILE",
     "PEM private key of the serving certificate (required)", NULL},
    {"--tls-cert-file", C_CHECK, K_STR, OFF(tls_cert_file), 0, 0, "FILE",
     "also check this serving certificate (with --tls-private-key-file)", NULL},
    {"--tls-private-key-file", C_CHECK, K_STR, OFF(tls_key_file), 0, 0, "FILE",
     "private key of --tls-cert-file", NULL},
    {"--client-ca-file", C_SERVE, K_STR, OFF(client_ca_file), 0, 0, "FILE",
     "require client certificates signed by this CA on /mutate (401 otherwise)", "none"},
    {"--port", C_SERVE, K_UINT, OFF(port), 0, 65535, "PORT", "HTTPS port; 0 picks a free one", NULL},
    {"--bind-address", C_SERVE, K_STR, OFF(bind_address), 0, 0, "IP", "address to listen on", NULL},
    {"--config", C_SERVE, K_STR, OFF(config_file), 0, 0, "FILE",
     "policy file (YAML or JSON); re-read when it changes and on SIGHUP", "built-in default policy"},
    {"--config", C_CHECK | C_RENDER | C_SHOW | C_EXPORT, K_STR, OFF(config_file), 0, 0, "FILE",
     "policy file (YAML or JSON)", "built-in default policy"},
    {"--name", C_EXPORT, K_EXPORT_NAME, OFF(export_name), 0, 0, "NAME",
     "name of the policies and bindings (NAME, NAME-deny): a DNS label of at most 40",
     "hookwarden"},
    {"--image-pull-secret", C_POLICY, K_SECRET, 0, 0, 0, "NAME",
     "imagePullSecret to add to opted-in Jobs; repeatable, replaces the policy file's list", "none"},
    {"--label", C_POLICY, K_LABEL, 0, 0, 0, "KEY=VALUE",
     "opt-in label; replaces the policy file's selector", "hookwarden.io/migration=true"},
    {"--max-request-bytes", C_SERVE, K_SIZE, OFF(max_request_bytes), 1024, 1ull << 30, "N",
     "largest AdmissionReview body accepted (413 above)", NULL},
    {"--max-request-memory", C_SERVE, K_SIZE, OFF(max_request_memory), 65536, 1ull << 34, "N",
     "memory for the JSON values of one AdmissionReview; 413 above",
     "--max-request-bytes, at least 4194304"},
    {"--connection-limit", C_SERVE, K_UINT, OFF(connection_limit), 1, 1000000, "N",
     "most connections open at once; more are closed on arrival", NULL},
    {"--idle-timeout", C_SERVE, K_UINT, OFF(idle_timeout), 1, 3600, "SECONDS",
     "close a connection idle this long", NULL},
    {"--threads", C_SERVE, K_UINT, OFF(threads), 1, 64, "N", "HTTPS worker threads", "number of cores"},
    {"--metrics-bind-address", C_SERVE, K_STR, OFF(metrics_bind_address), 0, 0, "HOST:PORT",
     "also serve /metrics, /healthz, /readyz over plain HTTP here", "none"},
    {"--reload-interval-ms", C_SERVE, K_UINT, OFF(reload_interval_ms), 1, 60000, "MS",
     "how often the policy, certificate and key files are re-read", NULL},
    {"--shutdown-grace-period", C_SERVE, K_UINT, OFF(shutdown_grace), 0, 3600, "SECONDS",
     "on SIGTERM, keep serving this long with /readyz failing", NULL},
    {"--shutdown-timeout", C_SERVE, K_UINT, OFF(shutdown_timeout), 0, 3600, "SECONDS",
     "then wait this long for admissions in flight", NULL},
    {"--log-level", C_SERVE, K_LEVEL, OFF(log_level), 0, 0, "LEVEL",
     "lowest level logged: debug, info, warn, error or off", NULL},
    {"--dir", C_GEN, K_STR, OFF(dir), 0, 0, "DIR",
     "directory to write ca.crt, ca.key, tls.crt, tls.key to (required)", NULL},
    {"--service", C_GEN, K_SERVICE, OFF(service), 0, 0, "NAME",
     "Service name for the SANs, a DNS-1035 label (required)", NULL},
    {"--namespace", C_GEN, K_NAMESPACE, OFF(namespace_), 0, 0, "NS",
     "the Service's namespace for the SANs, a DNS-1123 label (required)", NULL},
    {"--namespace", C_RENDER, K_NAMESPACE, OFF(namespace_), 0, 0, "NS",
     "namespace of documents that name none", "$HELM_NAMESPACE, else none"},
    {"--namespace", C_SHOW, K_NAMESPACE, OFF(namespace_), 0, 0, "NS",
     "show the policy a Job in this namespace gets (its overrides applied)",
     "the file's layers and overrides as written"},
    {"--days", C_GEN, K_UINT, OFF(days), 1, 3650, "N", "validity of both certificates in days", NULL},
    {"--loopback", C_GEN, K_FLAG, OFF(loopback), 0, 0, NULL,
     "also make the pair valid for localhost and 127.0.0.1 (development and tests only)", NULL},
    {"-f", C_RENDER, K_FILE, 0, 0, 0, "FILE", "manifest file to read, - for stdin; repeatable",
     "stdin"},
    {"--hook-annotations", C_RENDER | C_SHOW, K_BOOL, OFF(hook_annotations), 0, 0, "true|false",
     "add the policy's helm.sh/hook* annotations; false for a Helm 3 post-renderer, which runs\n"
     "after Helm sorted hooks (the annotations would be inert there)", NULL},
    {"--strict", C_LINT, K_FLAG, OFF(strict), 0, 0, NULL, "exit 1 on any warning too", NULL},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* The commands, their spellings and what --help says about them. */
static const struct command {
    const char *name;
    enum hw_command cmd;
    const char *usage;  /* NULL: an alias of the entry before */
    const char *about;
} commands[] = {
    {"serve", HW_CMD_SERVE, "serve --tls-cert-file FILE --tls-private-key-file FILE [flags]",
     "Serves the admission webhook over HTTPS: POST /mutate (AdmissionReview v1 and\n"
     "v1beta1), GET /healthz, /readyz and /metrics. The policy file and the serving\n"
     "pair are re-read when their content changes (polled every second, and at once\n"
     "on SIGHUP); a file that fails to load is refused and the previous one keeps\n"
     "serving. SIGTERM or SIGINT: /readyz fails, serving goes on for the grace\n"
     "period, then admissions in flight finish and the process exits 0."},
    {"gen-certs", HW_CMD_GEN_CERTS,
     "gen-certs --dir DIR --service NAME --namespace NS [--days N] [--loopback]",
     "Writes a development CA (ca.crt, ca.key) and a serving pair signed by it\n"
     "(tls.crt, tls.key) for NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local,\n"
     "localhost and 127.0.0.1. For a cluster, use cert-manager or certs/make-overlay.sh\n"
     "(docs/install.md)."},
    {"check", HW_CMD_CHECK, "check [--config FILE] [--tls-cert-file FILE --tls-private-key-file FILE]",
     "Loads the policy file as serve would, with the policy flags applied, and\n"
     "reports every problem as FILE:LINE:COLUMN: message; with the TLS flags, also\n"
     "checks the serving pair (PEM, key matches, validity window) and prints its\n"
     "SANs. Exits 0 when all is well, 1 otherwise. Also spelled --check."},
    {"--check", HW_CMD_CHECK, NULL, NULL},
    {"render", HW_CMD_RENDER, "render [-f FILE|-]... [--config FILE] [flags]",
     "Applies the policy to a stream of manifests (multi-document YAML or JSON) the\n"
     "way the webhook treats a CREATE, and writes the stream to stdout: documents\n"
     "the policy does not change byte for byte. Warnings and denials go to stderr;\n"
     "a denial writes nothing and exits 1. Usable as a Helm 4 post-renderer\n"
     "(deploy/helm-plugin). The policy file is read once."},
    {"lint", HW_CMD_LINT, "lint [-f FILE|-]... [--config FILE] [--strict] [flags]",
     "Reports what the policy would warn about or deny in a stream of manifests,\n"
     "one line per finding: FILE:DOC:Kind/name: RULE: ACTION: MESSAGE. Exits 1 on a\n"
     "denial, an object the policy cannot patch or malformed input (with --strict,\n"
     "also on a warning), 2 when it cannot run. The policy file is read once."},
    {"policy", HW_CMD_POLICY_SHOW, "policy show [--config FILE] [--namespace NS] [flags]",
     "Prints the policy as JSON, every key with its value: with --namespace, the\n"
     "effective policy a Job in that namespace gets (the file, the flags, then the\n"
     "file's overrides that match the namespace, which a \"//\" key names), as the\n"
     "webhook and render apply it; without, the base layer and each override as\n"
     "compiled. The output is itself a valid policy file. Exits 2 when the policy\n"
     "does not load."},
    {"export", HW_CMD_EXPORT, "export admission-policy [--config FILE] [--name NAME] [flags]",
     "Writes the policy as native admission policies for kube-apiserver 1.36+ to\n"
     "stdout: a YAML stream of admissionregistration.k8s.io/v1 MutatingAdmissionPolicy\n"
     "and ValidatingAdmissionPolicy objects with their bindings, the same decisions as\n"
     "the webhook's in CEL (docs/native-policy.md). Notes on what the user reads\n"
     "differently go to stderr. Never run them beside the webhook for the same Jobs."},
    {"version", HW_CMD_VERSION, "version", "Prints the version. Also spelled --version."},
    {"--version", HW_CMD_VERSION, NULL, NULL},
    {"help", HW_CMD_HELP, "help [COMMAND]",
     "Prints the commands, or one command's usage and flags. Also spelled --help\n"
     "and -h, before or after a command."},
    {"--help", HW_CMD_HELP, NULL, NULL},
    {"-h", HW_CMD_HELP, NULL, NULL},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

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
    cfg->hook_annotations = 1;
    cfg->reload_interval_ms = 1000;
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

/* A DNS label: lower-case letters, digits and '-', at most 63, alphanumeric at
 * both ends; DNS-1035 (Service names) also starts with a letter. */
static int
is_dns_label(const char *v, int letter_first)
{
    size_t n = strlen(v);

    if (n == 0 || n > 63 || v[n - 1] == '-' || v[0] == '-' || (letter_first && !(v[0] >= 'a' && v[0] <= 'z')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
            return 0;
    }
    return 1;
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
    case K_EXPORT_NAME:
        if (!hw_export_name_ok(v)) {
            hw_error_set(err, HW_EINVAL,
                         "%s %.80s: not a valid name: lower-case letters, digits and '-', at most %d, "
                         "starting and ending with a letter or digit",
                         o->name, v, HW_EXPORT_NAME_MAX);
            return -1;
        }
        *(const char **)(base + o->offset) = v;
        return 0;
    case K_SERVICE:
    case K_NAMESPACE:
        if (!is_dns_label(v, o->kind == K_SERVICE)) {
            hw_error_set(err, HW_EINVAL,
                         "%s %.80s: not a valid %s: lower-case letters, digits and '-', at most 63, "
                         "starting with a %s and ending with a letter or digit",
                         o->name, v, o->kind == K_SERVICE ? "Service name" : "namespace",
                         o->kind == K_SERVICE ? "letter" : "letter or digit");
            return -1;
        }
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
    case K_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            hw_error_set(err, HW_EINVAL, "%s %.80s: expected true or false", o->name, v);
            return -1;
        }
        *(int *)(base + o->offset) = strcmp(v, "true") == 0;
        return 0;
    }
    return -1;
}

const char *
hw_config_command_name(enum hw_command c)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (commands[i].cmd == c)
            return commands[i].name;
    }
    return "hookwarden";
}

static const struct command *
find_command(const char *word)
{
    for (size_t c = 0; c < N_COMMANDS; c++) {
        if (strcmp(word, commands[c].name) == 0)
            return &commands[c];
    }
    return NULL;
}

/* The entry for flag arg (up to '=') of command cmd; with cmd HW_CMD_NONE,
 * of any command. NULL when there is none. */
static const struct option *
find_option(const char *arg, enum hw_command cmd)
{
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);

    for (size_t k = 0; k < N_OPTIONS; k++) {
        if (strlen(options[k].name) == namelen && strncmp(arg, options[k].name, namelen) == 0 &&
            (cmd == HW_CMD_NONE || (options[k].commands & (1u << cmd))))
            return &options[k];
    }
    return NULL;
}

/* Levenshtein distance, for "did you mean"; names are short. */
static size_t
distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

    if (la >= 63 || lb >= 63)
        return 64;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            tmp = row[j];
            row[j] = a[i - 1] == b[j - 1] ? prev : 1 + (prev < row[j] ? (prev < row[j - 1] ? prev : row[j - 1])
                                                                      : (row[j] < row[j - 1] ? row[j] : row[j - 1]));
            prev = tmp;
        }
    }
    return row[lb];
}

/* The closest of a list of names to word, or NULL when none is close: at
 * most a third of the word's length away (and at most 3 edits), or the
 * start of the name. */
static const char *
nearest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = 4, limit = strlen(word) / 3 + 1;

    for (size_t i = 0; i < n; i++) {
        size_t d = distance(word, names[i]);

        /* A clipped name ("--tls-cert") is as close as one typo. */
        if (strlen(word) >= 4 && strncmp(names[i], word, strlen(word)) == 0)
            d = 1;
        if (d < best_d && d <= limit) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

static const char *
nearest_command(const char *word)
{
    const char *names[N_COMMANDS];

    for (size_t c = 0; c < N_COMMANDS; c++)
        names[c] = commands[c].name;
    return nearest(word, names, N_COMMANDS);
}

static const char *
nearest_flag(const char *arg, enum hw_command cmd)
{
    const char *names[N_OPTIONS];
    char word[64];
    size_t n = 0;

    snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg, "="), arg);
    for (size_t k = 0; k < N_OPTIONS; k++) {
        if (cmd == HW_CMD_NONE || (options[k].commands & (1u << cmd)))
            names[n++] = options[k].name;
    }
    return nearest(word, names, n);
}

static void
unknown_flag(const char *arg, enum hw_command cmd, struct hw_error *err)
{
    const char *near = nearest_flag(arg, cmd), *name = hw_config_command_name(cmd);
    const struct option *other = find_option(arg, HW_CMD_NONE);

    if (near != NULL)
        hw_error_set(err, HW_EINVAL, "%.80s: unknown flag for %s; did you mean %s? (hookwarden %s --help)",
                     arg, name, near, name);
    else if (other != NULL)
        hw_error_set(err, HW_EINVAL, "%.80s is not a flag of %s (hookwarden %s --help lists them)", arg,
                     name, name);
    else
        hw_error_set(err, HW_EINVAL, "%.80s: unknown flag for %s (hookwarden %s --help lists them)", arg,
                     name, name);
}

static void
unknown_command(const char *word, struct hw_error *err)
{
    const char *near = nearest_command(word);

    if (near != NULL)
        hw_error_set(err, HW_EINVAL, "unknown command \"%.80s\"; did you mean %s? (hookwarden help)", word,
                     near);
    else
        hw_error_set(err, HW_EINVAL,
                     "unknown command \"%.80s\": the commands are serve, gen-certs, check, render, lint, "
                     "policy show, export, version and help",
                     word);
}

/* Finds the command word and whether help was asked for. A flag's value is
 * skipped, so "--namespace lint" names a namespace, not a command. */
static int
find_command_word(int argc, char **argv, struct hw_config *cfg, const char **stray, struct hw_error *err)
{
    int help = 0;

    *stray = NULL;
    for (int i = 1; i < argc; i++) {
        const struct command *c = find_command(argv[i]);
        const struct option *o;

        if (c != NULL && c->cmd == HW_CMD_HELP) {
            help = 1;
        } else if (c != NULL && cfg->command == HW_CMD_NONE) {
            cfg->command = c->cmd;
        } else if (c == NULL && argv[i][0] != '-' && *stray == NULL) {
            *stray = argv[i];
        } else if ((o = find_option(argv[i], HW_CMD_NONE)) != NULL && o->kind != K_FLAG &&
                   strchr(argv[i], '=') == NULL) {
            i++;
        }
    }
    if (help) {
        if (cfg->command == HW_CMD_NONE && *stray != NULL) {
            unknown_command(*stray, err);
            return -1;
        }
        cfg->help_for = cfg->command;
        cfg->command = HW_CMD_HELP;
    }
    return 0;
}

int
hw_config_parse(int argc, char **argv, struct hw_config *cfg, struct hw_error *err)
{
    const char *stray;
    int seen_cmd = 0, seen_sub = 0;

    defaults(cfg);
    if (find_command_word(argc, argv, cfg, &stray, err) != 0)
        return -1;
    if (cfg->command == HW_CMD_HELP)
        return 0;
    if (cfg->command == HW_CMD_NONE) {
        if (stray != NULL)
            unknown_command(stray, err);
        else if (argc > 1 && nearest_command(argv[1]) != NULL)
            hw_error_set(err, HW_EINVAL, "%.80s: unknown flag; did you mean %s? (hookwarden help)", argv[1],
                         nearest_command(argv[1]));
        else
            hw_error_set(err, HW_EINVAL, "no command given: hookwarden help lists the commands");
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq = NULL;
        const struct command *c = find_command(arg);
        const struct option *o;

        if (c != NULL && c->cmd == cfg->command && !seen_cmd) {
            seen_cmd = 1;
            continue;
        }
        /* "policy" has one subcommand so far: "show". */
        if (cfg->command == HW_CMD_POLICY_SHOW && seen_cmd && !seen_sub && strcmp(arg, "show") == 0) {
            seen_sub = 1;
            continue;
        }
        if (cfg->command == HW_CMD_EXPORT && arg[0] != '-' && cfg->export_what == NULL) {
            if (strcmp(arg, "admission-policy") != 0) {
                hw_error_set(err, HW_EINVAL, "export %.80s: unknown; what export writes is admission-policy "
                             "(hookwarden export --help)", arg);
                return -1;
            }
            cfg->export_what = arg;
            continue;
        }
        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            hw_error_set(err, HW_EINVAL, "%.80s: unexpected argument for %s (hookwarden %s --help)", arg,
                         hw_config_command_name(cfg->command), hw_config_command_name(cfg->command));
            return -1;
        }
        if ((o = find_option(arg, cfg->command)) == NULL) {
            unknown_flag(arg, cfg->command, err);
            return -1;
        }
        if (strncmp(arg, "--", 2) == 0)
            eq = strchr(arg, '=');
        if (o->kind == K_FLAG && eq != NULL) {
            hw_error_set(err, HW_EINVAL, "%s takes no value", o->name);
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
    if (cfg->command == HW_CMD_POLICY_SHOW && !seen_sub) {
        hw_error_set(err, HW_EINVAL, "policy needs a subcommand: hookwarden policy show [--config FILE] "
                                     "[--namespace NS]");
        return -1;
    }
    if (cfg->command == HW_CMD_EXPORT && cfg->export_what == NULL) {
        hw_error_set(err, HW_EINVAL, "export needs what to write: hookwarden export admission-policy");
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
    ov->no_hook_annotations = !cfg->hook_annotations;
}

/* What --help shows as a flag's default: the value defaults() sets, or the
 * option's text for an unset one. */
static void
default_text(const struct option *o, const struct hw_config *d, char *out, size_t outsz)
{
    const char *base = (const char *)d;
    const char *str;

    out[0] = '\0';
    switch (o->kind) {
    case K_STR:
    case K_SERVICE:
    case K_NAMESPACE:
        str = *(const char *const *)(base + o->offset);
        snprintf(out, outsz, "%s", str ? str : "");
        break;
    case K_UINT:
        if (*(const unsigned *)(base + o->offset) != 0 || o->unset == NULL)
            snprintf(out, outsz, "%u", *(const unsigned *)(base + o->offset));
        break;
    case K_SIZE:
        if (*(const unsigned long long *)(base + o->offset) != 0 || o->unset == NULL)
            snprintf(out, outsz, "%llu", *(const unsigned long long *)(base + o->offset));
        break;
    case K_LEVEL:
        snprintf(out, outsz, "%s", hw_log_level_name(d->log_level));
        break;
    case K_BOOL:
        snprintf(out, outsz, "%s", *(const int *)(base + o->offset) ? "true" : "false");
        break;
    default:
        break;
    }
    if (out[0] == '\0' && o->unset != NULL)
        snprintf(out, outsz, "%s", o->unset);
}

static void
usage_flags(FILE *out, enum hw_command cmd)
{
    struct hw_config d;

    defaults(&d);
    for (size_t k = 0; k < N_OPTIONS; k++) {
        const struct option *o = &options[k];
        char left[64], def[64], range[48] = "";

        if (!(o->commands & (1u << cmd)))
            continue;
        snprintf(left, sizeof(left), "%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        default_text(o, &d, def, sizeof(def));
        if (o->kind == K_UINT || o->kind == K_SIZE)
            snprintf(range, sizeof(range), "%llu-%llu", o->min, o->max ? o->max : 4294967295ull);
        fprintf(out, "  %-34s %s", left, o->help);
        if (range[0] != '\0' || def[0] != '\0')
            fprintf(out, " (%s%s%s%s)", range, range[0] && def[0] ? ", " : "", def[0] ? "default " : "", def);
        fputc('\n', out);
    }
}

void
hw_config_usage(FILE *out)
{
    fprintf(out,
            "hookwarden %s: a mutating admission webhook that makes labelled migration Jobs\n"
            "safe Helm hooks, and the same policy offline.\n\n"
            "usage: hookwarden COMMAND [flags]\n\ncommands:\n",
            HW_VERSION);
    for (size_t c = 0; c < N_COMMANDS; c++) {
        if (commands[c].usage != NULL)
            fprintf(out, "  hookwarden %s\n", commands[c].usage);
    }
    fprintf(out, "\n'hookwarden COMMAND --help' (or 'hookwarden help COMMAND') shows a command's\n"
                 "flags with their defaults. Documentation: README.md and docs/.\n");
}

int
hw_config_usage_command(FILE *out, enum hw_command cmd)
{
    const struct command *c = NULL;

    for (size_t i = 0; i < N_COMMANDS && c == NULL; i++) {
        if (commands[i].cmd == cmd && commands[i].usage != NULL)
            c = &commands[i];
    }
    if (c == NULL) {
        hw_config_usage(out);
        return 0;
    }
    fprintf(out, "usage: hookwarden %s\n\n%s\n", c->usage, c->about);
    for (size_t k = 0; k < N_OPTIONS; k++) {
        if (options[k].commands & (1u << cmd)) {
            fprintf(out, "\nflags:\n");
            usage_flags(out, cmd);
            break;
        }
    }
    if (cmd == HW_CMD_SERVE)
        fprintf(out, "\nsignals: SIGHUP re-reads the policy and certificate files now; SIGTERM and\n"
                     "SIGINT shut down gracefully (a second one ends the grace period).\n");
    return 0;
}
