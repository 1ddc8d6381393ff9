/* SPDX-License-Identifier: BSD-2-Clause */
#include "check.h"
#include "fixture.h"
int main(void) { return CHECK_SUMMARY(); }
