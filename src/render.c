/* SPDX-License-Identifier: Apache-2.0 */
/* render: placeholder until the YAML front end lands (issue 8). */
#include <stdio.h>

#include "hookwarden/render.h"

int
hw_render_main(const struct hw_config *cfg)
{
    (void)cfg;
    fprintf(stderr, "hookwarden: render and lint are not built yet\n");
    return 2;
}
