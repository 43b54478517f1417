/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config: the command line. Every command has --help (and "help COMMAND"),
 * a misspelt command or flag is answered with the nearest valid one, flags
 * of another command are refused by name, and the help text is true to the
 * parser: every flag it lists is accepted for that command, and every
 * default it shows is the value the parser starts from.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookwarden/config.h"

struct parsed {
    int rc;
    struct hw_config cfg;
    struct hw_error err;
};

/* Parses a NULL-terminated list of words after "hookwarden". */
static struct parsed
parse_words(const char *const *words)
{
    struct parsed p;
    char *argv[32];
    int argc = 0;

    memset(&p, 0, sizeof(p));
    argv[argc++] = (char *)"hookwarden";
    while (words[argc - 1] != NULL && argc < 31) {
        argv[argc] = (char *)words[argc - 1];
        argc++;
    }
    argv[argc] = NULL;
    p.rc = hw_config_parse(argc, argv, &p.cfg, &p.err);
    return p;
}

#define PARSE(...) parse_words((const char *const[]){__VA_ARGS__, NULL})

/* The text hw_config_usage_command writes for cmd; caller frees. */
static char *
usage_text(enum hw_command cmd)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(hw_config_usage_command(f, cmd), 0);
    fclose(f);
    return text;
}

static const struct {
    const char *word;
    enum hw_command cmd;
} help_cases[] = {
    {"serve", HW_CMD_SERVE},   {"gen-certs", HW_CMD_GEN_CERTS}, {"check", HW_CMD_CHECK},
    {"--check", HW_CMD_CHECK}, {"render", HW_CMD_RENDER},       {"lint", HW_CMD_LINT},
    {"version", HW_CMD_VERSION},  {"policy", HW_CMD_POLICY_SHOW},
};

START_TEST(test_config_every_command_has_help_before_or_after_it)
{
    const char *w = help_cases[_i].word;
    struct parsed a = PARSE(w, "--help"), b = PARSE("help", w), c = PARSE(w, "-h");
    char *text;

    ck_assert_int_eq(a.rc, 0);
    ck_assert_int_eq(a.cfg.command, HW_CMD_HELP);
    ck_assert_int_eq(a.cfg.help_for, help_cases[_i].cmd);
    ck_assert_int_eq(b.rc, 0);
    ck_assert_int_eq(b.cfg.help_for, help_cases[_i].cmd);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_int_eq(c.cfg.help_for, help_cases[_i].cmd);
    text = usage_text(help_cases[_i].cmd);
    ck_assert_msg(strncmp(text, "usage: hookwarden ", 18) == 0, "%s", text);
    free(text);
}
END_TEST

START_TEST(test_config_help_alone_lists_every_command)
{
    struct parsed p = PARSE("help");
    char *text;

    ck_assert_int_eq(p.rc, 0);
    ck_assert_int_eq(p.cfg.command, HW_CMD_HELP);
    ck_assert_int_eq(p.cfg.help_for, HW_CMD_NONE);
    text = usage_text(HW_CMD_NONE);
    for (size_t i = 0; i < sizeof(help_cases) / sizeof(help_cases[0]); i++) {
        char want[64];

        if (help_cases[i].word[0] == '-')
            continue;
        snprintf(want, sizeof(want), "  hookwarden %s", help_cases[i].word);
        ck_assert_msg(strstr(text, want) != NULL, "%s missing from:\n%s", want, text);
    }
    free(text);
}
END_TEST

START_TEST(test_config_unknown_command_names_the_nearest_one)
{
    struct parsed p = PARSE("serv", "--port", "1");
    struct parsed q = PARSE("bogus");
    struct parsed r = PARSE("help", "rendr");

    ck_assert_int_eq(p.rc, -1);
    ck_assert_str_eq(p.err.msg, "unknown command \"serv\"; did you mean serve? (hookwarden help)");
    ck_assert_int_eq(q.rc, -1);
    ck_assert_msg(strstr(q.err.msg, "unknown command \"bogus\"") != NULL, "%s", q.err.msg);
    ck_assert_msg(strstr(q.err.msg, "serve, gen-certs, check, render, lint, policy show, export, version and help") != NULL,
                  "%s", q.err.msg);
    ck_assert_int_eq(r.rc, -1);
    ck_assert_msg(strstr(r.err.msg, "did you mean render?") != NULL, "%s", r.err.msg);
}
END_TEST

START_TEST(test_config_no_command_is_an_error_with_a_pointer_to_help)
{
    struct parsed p = PARSE("--chek");
    char *argv[] = {(char *)"hookwarden", NULL};
    struct hw_config cfg;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_config_parse(1, argv, &cfg, &err), -1);
    ck_assert_str_eq(err.msg, "no command given: hookwarden help lists the commands");
    ck_assert_int_eq(p.rc, -1);
    ck_assert_msg(strstr(p.err.msg, "did you mean --check?") != NULL, "%s", p.err.msg);
}
END_TEST

START_TEST(test_config_unknown_flag_names_the_nearest_flag_of_the_command)
{
    struct parsed p = PARSE("serve", "--prot", "8443");
    struct parsed q = PARSE("render", "--strict");
    struct parsed r = PARSE("lint", "--max-request-bytes=1");
    struct parsed c = PARSE("serve", "--tls-cert", "f");

    ck_assert_int_eq(p.rc, -1);
    ck_assert_str_eq(p.err.msg, "--prot: unknown flag for serve; did you mean --port? (hookwarden serve --help)");
    /* A flag of another command is named as such, not silently taken. */
    ck_assert_int_eq(q.rc, -1);
    ck_assert_str_eq(q.err.msg, "--strict is not a flag of render (hookwarden render --help lists them)");
    ck_assert_int_eq(r.rc, -1);
    ck_assert_msg(strstr(r.err.msg, "not a flag of lint") != NULL, "%s", r.err.msg);
    ck_assert_msg(strstr(c.err.msg, "did you mean --tls-cert-file?") != NULL, "%s", c.err.msg);
}
END_TEST

START_TEST(test_config_a_flag_value_is_never_taken_for_a_command)
{
    struct parsed p = PARSE("render", "--namespace", "lint", "-f", "-");
    struct parsed q = PARSE("serve", "extra");

    ck_assert_int_eq(p.rc, 0);
    ck_assert_int_eq(p.cfg.command, HW_CMD_RENDER);
    ck_assert_str_eq(p.cfg.namespace_, "lint");
    ck_assert_int_eq(p.cfg.n_files, 1);
    ck_assert_str_eq(p.cfg.files[0], "-");
    ck_assert_int_eq(q.rc, -1);
    ck_assert_msg(strstr(q.err.msg, "extra: unexpected argument for serve") != NULL, "%s", q.err.msg);
}
END_TEST

static const struct {
    const char *flag, *value;
    int ok;
} name_cases[] = {
    {"--service", "hookwarden", 1},  {"--service", "a", 1},        {"--service", "web-hook2", 1},
    {"--service", "1hook", 0},       {"--service", "Hook", 0},     {"--service", "hook_warden", 0},
    {"--service", "hook.warden", 0}, {"--service", "hook-", 0},    {"--service", "", 0},
    {"--namespace", "1platform", 1}, {"--namespace", "-ns", 0},    {"--namespace", "ns.x", 0},
    {"--service", "a234567890123456789012345678901234567890123456789012345678901234", 0},
    {"--service", "a23456789012345678901234567890123456789012345678901234567890123", 1},
};

START_TEST(test_config_gen_certs_takes_only_valid_service_and_namespace_names)
{
    struct parsed p = name_cases[_i].flag[2] == 's'
                          ? PARSE("gen-certs", "--dir", "d", "--namespace", "ns", "--service", name_cases[_i].value)
                          : PARSE("gen-certs", "--dir", "d", "--service", "s", "--namespace", name_cases[_i].value);

    ck_assert_msg((p.rc == 0) == name_cases[_i].ok, "%s '%s': rc %d (%s)", name_cases[_i].flag,
                  name_cases[_i].value, p.rc, p.err.msg);
    if (!name_cases[_i].ok)
        ck_assert_msg(strstr(p.err.msg, "not a valid") != NULL, "%s", p.err.msg);
}
END_TEST

START_TEST(test_config_days_range_is_enforced_and_shown)
{
    struct parsed p = PARSE("gen-certs", "--days", "3651");
    struct parsed q = PARSE("gen-certs", "--days", "3650");
    char *text = usage_text(HW_CMD_GEN_CERTS);

    ck_assert_int_eq(p.rc, -1);
    ck_assert_str_eq(p.err.msg, "--days 3651: expected a number from 1 to 3650");
    ck_assert_int_eq(q.rc, 0);
    ck_assert_int_eq(q.cfg.days, 3650);
    ck_assert_msg(strstr(text, "(1-3650, default 365)") != NULL, "%s", text);
    free(text);
}
END_TEST

/* Every flag line of a command's help names a flag the parser accepts for
 * that command, and a shown numeric default is the parser's. */
static void
check_help_is_true(enum hw_command cmd, const char *word)
{
    char *text = usage_text(cmd), *line, *save = NULL;
    struct parsed d = PARSE(word);
    int flags = 0;

    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char flag[64], meta[64];
        const char *def;
        int n = sscanf(line, "  %63s %63s", flag, meta);
        struct parsed p;

        if (n < 1 || flag[0] != '-' || strncmp(line, "  -", 3) != 0)
            continue;
        flags++;
        if (strcmp(flag, "--strict") == 0 || strcmp(flag, "--loopback") == 0)
            p = PARSE(word, flag);
        else if (strcmp(flag, "--label") == 0)
            p = PARSE(word, flag, "a=b");
        else if (strcmp(flag, "--log-level") == 0)
            p = PARSE(word, flag, "warn");
        else if (strcmp(flag, "--service") == 0 || strcmp(flag, "--namespace") == 0)
            p = PARSE(word, flag, "x");
        else if (strcmp(flag, "--max-request-bytes") == 0 || strcmp(flag, "--max-request-memory") == 0)
            p = PARSE(word, flag, "1048576");
        else if (strcmp(flag, "--hook-annotations") == 0)
            p = PARSE(word, flag, "false");
        else
            p = PARSE(word, flag, "8");
        ck_assert_msg(p.rc == 0, "%s --help lists %s, which it refuses: %s", word, flag, p.err.msg);
        if (strcmp(flag, "--port") == 0 && (def = strstr(line, "default ")) != NULL)
            ck_assert_int_eq(atoi(def + 8), (int)d.cfg.port);
        if (strcmp(flag, "--max-request-bytes") == 0 && (def = strstr(line, "default ")) != NULL)
            ck_assert_uint_eq(strtoull(def + 8, NULL, 10), d.cfg.max_request_bytes);
        if (strcmp(flag, "--shutdown-grace-period") == 0 && (def = strstr(line, "default ")) != NULL)
            ck_assert_int_eq(atoi(def + 8), (int)d.cfg.shutdown_grace);
    }
    ck_assert_msg(flags > 0, "%s --help lists no flags", word);
    free(text);
}

START_TEST(test_config_help_lists_only_flags_the_command_accepts)
{
    check_help_is_true(HW_CMD_SERVE, "serve");
    check_help_is_true(HW_CMD_GEN_CERTS, "gen-certs");
    check_help_is_true(HW_CMD_CHECK, "check");
    check_help_is_true(HW_CMD_RENDER, "render");
    check_help_is_true(HW_CMD_LINT, "lint");
}
END_TEST

/* "policy" has the subcommand "show", and no other; its flags are the ones
 * its help lists. */
START_TEST(test_config_policy_show_takes_its_subcommand_and_its_flags)
{
    struct parsed a = PARSE("policy", "show", "--config", "p.yaml", "--namespace", "team-a",
                            "--image-pull-secret", "x", "--label", "a=b", "--hook-annotations", "false");
    struct parsed b = PARSE("policy", "--namespace", "team-a");
    struct parsed c = PARSE("policy", "shw");
    struct parsed d = PARSE("policy", "show", "show");
    struct parsed e = PARSE("policy", "show", "--namespace", "Team_A");
    struct parsed f = PARSE("policy", "show", "--port", "1");
    char *text = usage_text(HW_CMD_POLICY_SHOW);

    ck_assert_int_eq(a.rc, 0);
    ck_assert_int_eq(a.cfg.command, HW_CMD_POLICY_SHOW);
    ck_assert_str_eq(a.cfg.config_file, "p.yaml");
    ck_assert_str_eq(a.cfg.namespace_, "team-a");
    ck_assert_int_eq(a.cfg.hook_annotations, 0);
    ck_assert_int_eq(b.rc, -1);
    ck_assert_str_eq(b.err.msg, "policy needs a subcommand: hookwarden policy show [--config FILE] "
                                "[--namespace NS]");
    ck_assert_int_eq(c.rc, -1);
    ck_assert_ptr_nonnull(strstr(c.err.msg, "shw: unexpected argument for policy"));
    ck_assert_int_eq(d.rc, -1);
    ck_assert_int_eq(e.rc, -1);
    ck_assert_ptr_nonnull(strstr(e.err.msg, "--namespace Team_A: not a valid namespace"));
    ck_assert_int_eq(f.rc, -1);
    ck_assert_ptr_nonnull(strstr(f.err.msg, "--port is not a flag of policy"));
    ck_assert_ptr_nonnull(strstr(text, "usage: hookwarden policy show [--config FILE] [--namespace NS]"));
    for (const char *const *w = (const char *const[]){"--config", "--namespace", "--image-pull-secret",
                                                      "--label", "--hook-annotations", NULL};
         *w != NULL; w++)
        ck_assert_msg(strstr(text, *w) != NULL, "%s missing from:\n%s", *w, text);
    free(text);
}
END_TEST

START_TEST(test_config_render_help_does_not_promise_a_reload)
{
    char *serve = usage_text(HW_CMD_SERVE), *render = usage_text(HW_CMD_RENDER);

    ck_assert_ptr_nonnull(strstr(serve, "on SIGHUP"));
    ck_assert_ptr_null(strstr(render, "SIGHUP"));
    ck_assert_ptr_null(strstr(render, "re-read"));
    ck_assert_ptr_null(strstr(render, "--log-level"));
    free(serve);
    free(render);
}
END_TEST

Suite *hw_suite_config(void);

Suite *
hw_suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("cli");

    tcase_add_loop_test(t, test_config_every_command_has_help_before_or_after_it, 0,
                        sizeof(help_cases) / sizeof(help_cases[0]));
    tcase_add_test(t, test_config_help_alone_lists_every_command);
    tcase_add_test(t, test_config_unknown_command_names_the_nearest_one);
    tcase_add_test(t, test_config_no_command_is_an_error_with_a_pointer_to_help);
    tcase_add_test(t, test_config_unknown_flag_names_the_nearest_flag_of_the_command);
    tcase_add_test(t, test_config_a_flag_value_is_never_taken_for_a_command);
    tcase_add_loop_test(t, test_config_gen_certs_takes_only_valid_service_and_namespace_names, 0,
                        sizeof(name_cases) / sizeof(name_cases[0]));
    tcase_add_test(t, test_config_days_range_is_enforced_and_shown);
    tcase_add_test(t, test_config_help_lists_only_flags_the_command_accepts);
    tcase_add_test(t, test_config_render_help_does_not_promise_a_reload);
    tcase_add_test(t, test_config_policy_show_takes_its_subcommand_and_its_flags);
    suite_add_tcase(s, t);
    return s;
}
