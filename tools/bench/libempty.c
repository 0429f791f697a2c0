/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libempty.so: a preloadable library with one constructor that does nothing. `cgproc bench`
 * execs /bin/true with it to measure what any LD_PRELOAD costs (the loader mapping and
 * relocating one more object), so that the shim's own exec cost can be told apart from that.
 */

__attribute__((constructor)) static void empty_init(void)
{
}
