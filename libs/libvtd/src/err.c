/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Names for enum vtd_err, derived from the one X-macro table in vtd.h so the enum, the strings
 * and the documentation cannot drift apart.
 */
#include <vtd/vtd.h>

#define VTD_ERR_TEXT_(name, text) text,
#define VTD_ERR_NAME_(name, text) #name,
static const char *const err_text[] = {VTD_ERRORS(VTD_ERR_TEXT_)};
static const char *const err_name[] = {VTD_ERRORS(VTD_ERR_NAME_)};

const char *vtd_strerror(enum vtd_err e)
{
    if ((unsigned)e >= VTD_ERR_COUNT_) {
        return "unknown error";
    }
    return err_text[e];
}

const char *vtd_errname(enum vtd_err e)
{
    if ((unsigned)e >= VTD_ERR_COUNT_) {
        return "VTD_ERR_?";
    }
    return err_name[e];
}
