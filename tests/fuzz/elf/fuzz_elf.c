// SPDX-License-Identifier: BSD-2-Clause
//
// libFuzzer target for the ELF loader's validation. The first 8 input bytes pick caller limits
// (so range checks are exercised with more than the defaults), the rest is the image. Whatever the
// input, elf_parse must not read outside it; when it accepts, every segment it yields must satisfy
// the guarantees the loader relies on, which are re-checked here independently.

#include <elf/loader.h>

#include <stdlib.h>
#include <string.h>

static void require(int cond)
{
    if (!cond) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    elf_limits_t lim;
    elf_limits_default(&lim);
    if (size >= 8 && data[0] == 'L') {
        // Alternative limits: a narrower window and W+X allowed or not.
        lim.user_min = (uint64_t)data[1] << 20;
        lim.user_max = lim.user_min + (((uint64_t)data[2] + 1) << 24);
        lim.allow_wx = data[3] & 1;
        data += 8;
        size -= 8;
    }
    // Copy so that reads past the end hit ASan's redzone, not the rest of libFuzzer's buffer.
    uint8_t *img = malloc(size ? size : 1);
    memcpy(img, data, size);
    elf_image_t im;
    elf_error_t err = elf_parse(&im, img, size, &lim);
    require(elf_strerror(err) != NULL);
    if (err == ELF_OK) {
        size_t n = elf_segment_count(&im);
        require(n >= 1 && n <= ELF_MAX_PHDRS);
        elf_segment_t s;
        size_t cur = 0;
        size_t seen = 0;
        int entry_seen = 0;
        unsigned sum = 0;
        while (elf_segment_next(&im, &cur, &s)) {
            seen++;
            require(s.filesz <= s.memsz && s.memsz > 0);
            require(s.offset <= size && s.filesz <= size - s.offset);
            require(s.vaddr >= lim.user_min && s.vaddr + s.memsz <= lim.user_max);
            require(s.vaddr + s.memsz > s.vaddr);
            require(lim.allow_wx || !((s.rights & ELF_RIGHT_W) && (s.rights & ELF_RIGHT_X)));
            for (uint64_t i = 0; i < s.filesz; i++) {
                sum += s.file[i]; // every byte the loader would copy is readable
            }
            if ((s.rights & ELF_RIGHT_X) && im.entry >= s.vaddr && im.entry - s.vaddr < s.filesz) {
                entry_seen = 1;
            }
        }
        require(seen == n);
        require(entry_seen);
        (void)sum;
    }
    free(img);
    return 0;
}
