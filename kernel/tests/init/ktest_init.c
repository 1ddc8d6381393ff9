#include <portcullis/portcullis.h>
void ktest_main(pc_bootinfo_t *bi) { (void)bi; pc_debug_write("hello from init\n", 16); pc_debug_halt(0); }
