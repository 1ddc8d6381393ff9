/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Encoder and side-effect-free decoder of the device-gone protocol, derived from the tables in
 * hotplug/gone.h, plus the text of every enum. A message from a driver is untrusted: the
 * decoder checks label, length and handle before the server looks at it.
 */
#include <hotplug/gone.h>

#include <stddef.h>

const char *hp_gone_err_str(int err)
{
    switch (err) {
#define HP_GONE_ERR_CASE_(name, value, text)                                                       \
    case value:                                                                                    \
        return text;
        HP_GONE_ERRORS(HP_GONE_ERR_CASE_)
#undef HP_GONE_ERR_CASE_
    default:
        return "unknown error";
    }
}

const char *hp_gone_label_str(uint64_t label)
{
    switch (label) {
#define HP_GONE_LABEL_CASE_(name, value, dir, mrs, errs, text)                                     \
    case value:                                                                                    \
        return #name;
        HP_GONE_METHODS(HP_GONE_LABEL_CASE_)
#undef HP_GONE_LABEL_CASE_
    default:
        return "unknown";
    }
}

uint32_t hp_gone_label_errors(uint64_t label)
{
    switch (label) {
#define HP_GONE_ERRS_CASE_(name, value, dir, mrs, errs, text)                                      \
    case value:                                                                                    \
        return (errs);
        HP_GONE_METHODS(HP_GONE_ERRS_CASE_)
#undef HP_GONE_ERRS_CASE_
    default:
        return 0;
    }
}

static bool label_known(uint64_t label)
{
    switch (label) {
#define HP_GONE_KNOWN_CASE_(name, value, dir, mrs, errs, text) case value:
        HP_GONE_METHODS(HP_GONE_KNOWN_CASE_)
#undef HP_GONE_KNOWN_CASE_
        return true;
    default:
        return false;
    }
}

static bool handle_ok(uint64_t h)
{
    return h <= HP_HANDLE_MAX && HP_HANDLE_GEN(h) != 0;
}

int hp_gone_encode(const struct hp_gone_msg *msg, uint64_t *label, uint64_t *mr, unsigned mr_cap,
                   unsigned *len)
{
    if (msg == NULL || label == NULL || mr == NULL || len == NULL || !label_known(msg->label)) {
        return HP_GONE_ERR_LABEL;
    }
    if (mr_cap < HP_GONE_MSG_LENGTH) {
        return HP_GONE_ERR_LENGTH;
    }
    if (!handle_ok(msg->handle)) {
        return HP_GONE_ERR_HANDLE;
    }
    *label = (uint64_t)msg->label;
    mr[0] = msg->handle;
    *len = HP_GONE_MSG_LENGTH;
    return HP_GONE_OK;
}

int hp_gone_decode(uint64_t label, const uint64_t *mr, unsigned len, uint32_t accept,
                   struct hp_gone_msg *out)
{
    if (out == NULL || !label_known(label) ||
        (accept != 0 && (label >= 32 || !(accept & (1u << label))))) {
        return HP_GONE_ERR_LABEL;
    }
    if (len != HP_GONE_MSG_LENGTH || mr == NULL) {
        return HP_GONE_ERR_LENGTH;
    }
    if (!handle_ok(mr[0])) {
        return HP_GONE_ERR_HANDLE;
    }
    out->label = (enum hp_gone_label)label;
    out->handle = (hp_handle_t)mr[0];
    return HP_GONE_OK;
}
