/* SPDX-License-Identifier: BSD-2-Clause */
/* The whole user-visible kernel interface in one include. */
#ifndef PORTCULLIS_PORTCULLIS_H
#define PORTCULLIS_PORTCULLIS_H

#include <portcullis/bootinfo.h>
#include <portcullis/errors.h>
#include <portcullis/fault.h>
#include <portcullis/invocation.h>
#include <portcullis/invoke.h>
#include <portcullis/msg.h>
#include <portcullis/syscall.h>
#include <portcullis/types.h>

#endif
