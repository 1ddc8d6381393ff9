/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Text form of pci_sid_t ("bb:dd.f", as lspci prints it), used in logs and test names across
 * the project so a device is spelled the same way everywhere.
 */
#include <pci/bdf.h>

static const char hexdig[] = "0123456789abcdef";

char *pci_sid_format(pci_sid_t sid, char *buf, size_t buf_len)
{
    char tmp[PCI_SID_FMT_LEN];
    if (buf == NULL || buf_len == 0) {
        return buf;
    }
    tmp[0] = hexdig[PCI_SID_BUS(sid) >> 4];
    tmp[1] = hexdig[PCI_SID_BUS(sid) & 0xf];
    tmp[2] = ':';
    tmp[3] = hexdig[PCI_SID_DEV(sid) >> 4];
    tmp[4] = hexdig[PCI_SID_DEV(sid) & 0xf];
    tmp[5] = '.';
    tmp[6] = hexdig[PCI_SID_FN(sid)];
    tmp[7] = '\0';
    size_t n = buf_len < PCI_SID_FMT_LEN ? buf_len - 1 : PCI_SID_FMT_LEN - 1;
    for (size_t i = 0; i < n; i++) {
        buf[i] = tmp[i];
    }
    buf[n] = '\0';
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int pci_sid_parse(const char *s, pci_sid_t *sid)
{
    if (s == NULL || sid == NULL) {
        return -1;
    }
    for (int i = 0; i < 7; i++) {
        if (s[i] == '\0') {
            return -1;
        }
    }
    if (s[2] != ':' || s[5] != '.' || s[7] != '\0') {
        return -1;
    }
    int b1 = hexval(s[0]), b0 = hexval(s[1]), d1 = hexval(s[3]), d0 = hexval(s[4]),
        f = hexval(s[6]);
    if (b1 < 0 || b0 < 0 || d1 < 0 || d0 < 0 || f < 0) {
        return -1;
    }
    int dev = d1 * 16 + d0;
    if (dev > 31 || f > 7) {
        return -1;
    }
    *sid = PCI_SID(b1 * 16 + b0, dev, f);
    return 0;
}
