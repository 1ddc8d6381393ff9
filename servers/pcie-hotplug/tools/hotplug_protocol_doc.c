/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Prints the protocol reference tables of the device-gone protocol (docs/hotplug.md, from
 * <hotplug/gone.h>) and of the hotplug server's endpoint (docs/hotplug-server.md, from
 * <hpsrv/protocol.h>), so the documentation cannot drift from the code.
 *
 *   hotplug_protocol_doc gone|server            print the generated block
 *   hotplug_protocol_doc --check gone|server F  fail unless F holds exactly that block
 *   hotplug_protocol_doc --update gone|server F replace the block in F
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hotplug/gone.h>
#include <hotplug/hotplug.h>
#include <hpsrv/protocol.h>

#define END "<!-- END GENERATED -->\n"

struct out {
    char buf[65536];
    size_t pos;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (o->pos < sizeof(o->buf)) {
        int n = vsnprintf(o->buf + o->pos, sizeof(o->buf) - o->pos, fmt, ap);
        o->pos += n > 0 ? (size_t)n : 0;
    }
    va_end(ap);
}

/* Text in a table cell: the column separator escaped. */
static void cell(struct out *o, const char *text)
{
    for (; *text; text++) {
        put(o, *text == '|' ? "\\|" : "%c", *text);
    }
}

/* "`a`: doc; `b`: doc", or "-" for an empty list. */
static void fields(struct out *o, unsigned n, const char *const *names, const char *const *docs)
{
    for (unsigned i = 0; i < n; i++) {
        put(o, "%s`%s`: ", i ? "; " : "", names[i]);
        cell(o, docs[i]);
    }
    if (n == 0) {
        put(o, "-");
    }
}

typedef const char *(*errname_fn)(int);

static void errs(struct out *o, uint64_t mask, errname_fn name)
{
    bool first = true;
    for (int e = 1; e < 64; e++) {
        if (mask & (1ull << e)) {
            put(o, "%s`%s`", first ? "" : ", ", name(e));
            first = false;
        }
    }
    if (first) {
        put(o, "-");
    }
}

#define ERR_ROW_(name, value, text) put(o, "| %d | `%s` | %s |\n", value, #name, text);
#define ERR_NAME_CASE_(name, value, text)                                                          \
    case value:                                                                                    \
        return #name;

static const char *hp_err_name(int e)
{
    switch (e) {
        HP_ERRORS(ERR_NAME_CASE_)
    default:
        return "HP_ERR_?";
    }
}

static void gone_block(struct out *o)
{
    unsigned n;
    const struct hp_gone_method_info *m = hp_gone_methods(&n);
    put(o, "| label | method | direction | message registers (in order) | reply | errors the "
           "receiver may answer |\n|---|---|---|---|---|---|\n");
    for (unsigned i = 0; i < n; i++) {
        bool call = m[i].dir == HP_GONE_TO_SERVER;
        put(o, "| %llu | `%s` | %s | ", (unsigned long long)m[i].label, m[i].name,
            call ? "driver → server (call)" : "server → driver (send)");
        fields(o, m[i].nargs, m[i].arg_names, m[i].arg_docs);
        put(o, " | ");
        if (call) {
            put(o, "MR0 `enum hp_gone_err`");
            if (m[i].nrets) {
                put(o, "; ");
                fields(o, m[i].nrets, m[i].ret_names, m[i].ret_docs);
            }
        } else {
            put(o, "none");
        }
        put(o, " | ");
        errs(o, m[i].errors, hp_gone_err_name);
        put(o, " |\n");
    }
    put(o, "\n");
    for (unsigned i = 0; i < n; i++) {
        put(o, "* `%s`: %s\n", m[i].name, m[i].doc);
    }
    put(o, "\n#### Errors (`enum hp_gone_err`)\n\n| value | name | meaning |\n|---|---|---|\n");
    HP_GONE_ERRORS(ERR_ROW_)
}

static void method_table(struct out *o, unsigned caller)
{
    unsigned n;
    const struct hps_method_info *m = hps_methods(&n);
    put(o, "| label | method | arguments (words, in order) | results (from MR1, on success) | "
           "errors (MR0) |\n|---|---|---|---|---|\n");
    for (unsigned i = 0; i < n; i++) {
        if (m[i].caller != caller) {
            continue;
        }
        put(o, "| 0x%02llx | `%s` | ", (unsigned long long)m[i].label, m[i].name);
        fields(o, m[i].nargs, m[i].arg_names, m[i].arg_docs);
        put(o, " | ");
        fields(o, m[i].nrets, m[i].ret_names, m[i].ret_docs);
        put(o, " | ");
        errs(o, m[i].errors, caller == HPS_CALLER_DRIVER ? hp_gone_err_name : hp_err_name);
        put(o, " |\n");
    }
    put(o, "\n");
    for (unsigned i = 0; i < n; i++) {
        if (m[i].caller == caller) {
            put(o, "* `%s`: %s\n", m[i].name, m[i].doc);
        }
    }
}

static void server_block(struct out *o)
{
    put(o, "### Driver methods (badge `HPS_BADGE_DRIVER_BASE | task id`; errors `enum "
           "hp_gone_err`)\n\n");
    method_table(o, HPS_CALLER_DRIVER);
    const struct hp_gone_method_info *det = hp_gone_method_find(HP_GONE_DETACHED);
    put(o, "* `%s` (label %llu, the device-gone protocol's, docs/hotplug.md): errors ", det->name,
        (unsigned long long)det->label);
    errs(o, det->errors, hp_gone_err_name);
    put(o, "; `UNKNOWN` also when the caller is not the driver the device was given to.\n");

    put(o, "\n#### Events (replies of `next_event`, besides `device_going` and `device_gone`)\n\n"
           "| label | event | words (in order) |\n|---|---|---|\n");
    unsigned n;
    const struct hps_method_info *ev = hps_events(&n);
    for (unsigned i = 0; i < n; i++) {
        put(o, "| 0x%02llx | `%s` | ", (unsigned long long)ev[i].label, ev[i].name);
        fields(o, ev[i].nargs, ev[i].arg_names, ev[i].arg_docs);
        put(o, " |\n");
    }
    put(o, "\n");
    for (unsigned i = 0; i < n; i++) {
        put(o, "* `%s`: %s\n", ev[i].name, ev[i].doc);
    }

    put(o, "\n### Control methods (badge `HPS_BADGE_CONTROL`; errors `enum hp_err`)\n\n");
    method_table(o, HPS_CALLER_CONTROL);
    put(o, "\n#### Control errors (`enum hp_err`)\n\n| value | name | meaning |\n|---|---|---|\n");
    HP_ERRORS(ERR_ROW_)
}

static size_t generate(const char *which, char *begin, size_t cap, struct out *o)
{
    snprintf(begin, cap, "<!-- BEGIN GENERATED by hotplug_protocol_doc %s: do not edit -->\n",
             which);
    o->pos = 0;
    put(o, "%s", begin);
    if (strcmp(which, "gone") == 0) {
        gone_block(o);
    } else {
        server_block(o);
    }
    put(o, END);
    return o->pos;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 20;
    char *doc = malloc(cap + 1);
    *len = doc != NULL ? fread(doc, 1, cap, f) : 0;
    fclose(f);
    if (doc != NULL) {
        doc[*len] = 0;
    }
    return doc;
}

int main(int argc, char **argv)
{
    static struct out o;
    char begin[128];
    bool check = argc == 4 && strcmp(argv[1], "--check") == 0;
    bool update = argc == 4 && strcmp(argv[1], "--update") == 0;
    const char *which = argc == 2 ? argv[1] : argc == 4 ? argv[2] : "";
    if ((argc != 2 && !check && !update) ||
        (strcmp(which, "gone") != 0 && strcmp(which, "server") != 0)) {
        fprintf(stderr, "usage: %s [--check|--update] gone|server [file]\n", argv[0]);
        return 2;
    }
    size_t n = generate(which, begin, sizeof(begin), &o);
    if (n >= sizeof(o.buf)) {
        fprintf(stderr, "generated text too long\n");
        return 1;
    }
    if (argc == 2) {
        fputs(o.buf, stdout);
        return 0;
    }
    size_t len = 0;
    char *doc = read_all(argv[3], &len);
    char *b = doc != NULL ? strstr(doc, begin) : NULL;
    char *e = b != NULL ? strstr(b, END) : NULL;
    int rc = 0;
    if (e == NULL) {
        fprintf(stderr, "%s: no generated %s block (markers missing)\n", argv[3], which);
        rc = 1;
    } else if (check) {
        e += strlen(END);
        if ((size_t)(e - b) != n || memcmp(b, o.buf, n) != 0) {
            fprintf(stderr,
                    "%s: generated %s protocol block out of date; regenerate with "
                    "hotplug_protocol_doc --update %s %s\n",
                    argv[3], which, which, argv[3]);
            rc = 1;
        } else {
            printf("ok   %s %s protocol tables match the header\n", argv[3], which);
        }
    } else {
        e += strlen(END);
        FILE *f = fopen(argv[3], "w");
        if (f == NULL) {
            rc = 1;
        } else {
            fwrite(doc, 1, (size_t)(b - doc), f);
            fwrite(o.buf, 1, n, f);
            fwrite(e, 1, len - (size_t)(e - doc), f);
            rc = fclose(f) == 0 ? 0 : 1;
        }
    }
    free(doc);
    return rc;
}
