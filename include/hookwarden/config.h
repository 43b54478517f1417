/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config: the command line. One options table drives parsing, validation
 * and --help (and the flag reference in docs/). Precedence is built-in
 * defaults, then the policy file, then these flags (the policy module
 * applies the flag overrides over the file).
 */
#ifndef HOOKWARDEN_CONFIG_H
#define HOOKWARDEN_CONFIG_H

#include <stdio.h>

#include "hookwarden/error.h"
#include "hookwarden/log.h"
#include "hookwarden/policy.h"

#define HW_CONFIG_MAX_SECRETS 64

enum hw_command {
    HW_CMD_NONE = 0, HW_CMD_SERVE, HW_CMD_GEN_CERTS, HW_CMD_CHECK, HW_CMD_VERSION, HW_CMD_HELP,
    HW_CMD_RENDER, HW_CMD_LINT, HW_CMD_POLICY_SHOW, HW_CMD_EXPORT
};

struct hw_config {
    enum hw_command command;
    enum hw_command help_for;          /* HW_CMD_HELP: the command asked about, or NONE */
    /* serve */
    const char *tls_cert_file, *tls_key_file, *client_ca_file;
    const char *bind_address, *metrics_bind_address;
    unsigned port, threads, connection_limit, idle_timeout;
    unsigned long long max_request_bytes, max_request_memory;
    unsigned reload_interval_ms;
    unsigned shutdown_grace, shutdown_timeout;
    const char *config_file;
    const char *pull_secrets[HW_CONFIG_MAX_SECRETS];
    size_t n_pull_secrets;
    char label_key[320], label_value[64];
    int label_set;
    enum hw_log_level log_level;
    /* gen-certs; namespace_ also render, lint and policy show */
    const char *dir, *service, *namespace_;
    unsigned days;
    int loopback;
    /* render / lint */
    const char *files[64];
    size_t n_files;
    int strict;
    int hook_annotations;              /* --hook-annotations (default true) */
    /* export */
    const char *export_what;           /* "admission-policy" */
    const char *export_name;           /* --name */
};

/* Parses argv into cfg (defaults first). "COMMAND --help", "help COMMAND"
 * give HW_CMD_HELP with help_for set. On failure err names the argument and,
 * for a misspelt command or flag, the nearest valid one. */
int hw_config_parse(int argc, char **argv, struct hw_config *cfg, struct hw_error *err);

/* The policy overrides the flags carry; borrows from cfg. */
void hw_config_overrides(const struct hw_config *cfg, struct hw_policy_overrides *ov);

/* Prints the commands. */
void hw_config_usage(FILE *out);

/* Prints one command's usage, what it does and its flags with their ranges
 * and defaults (the general usage for HW_CMD_NONE). Returns 0. */
int hw_config_usage_command(FILE *out, enum hw_command cmd);

/* The command's name ("serve"); static. */
const char *hw_config_command_name(enum hw_command cmd);

#endif
