/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one check runner. Every tests/unit/check_<module>.c defines
 * Suite *hw_suite_<module>(void); the Makefile lists them in suites.inc,
 * so adding a suite is adding a file.
 */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *name(void);
#include "suites.inc"
#undef SUITE

int
main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

#define SUITE(name) srunner_add_suite(sr, name());
#include "suites.inc"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
