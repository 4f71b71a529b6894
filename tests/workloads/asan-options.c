/* Linked into the C workloads: when the suite is built with AddressSanitizer,
 * a workload skips LeakSanitizer's check at exit, whose helper task would
 * otherwise show up in the profiles and thread counts the tests assert.
 * cprof itself keeps its leak checks. Unused in a normal build. */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
