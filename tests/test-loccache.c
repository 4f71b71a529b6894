/* Unit tests of the location cache both locators keep and of the sorted
 * search the symbol tables share. */
#include <stddef.h>
#include <stdint.h>

#include "loccache.h"
#include "sorted.h"
#include "test.h"

struct keyed {
	int pad;
	uint64_t key;
};

static void test_sorted(void)
{
	struct keyed a[] = { { 0, 10 }, { 0, 20 }, { 0, 20 }, { 0, 30 } };

	CHECK(SORTED_UPTO(a, 0, key, 99) == 0);
	CHECK(SORTED_UPTO(a, 4, key, 9) == 0);
	CHECK(SORTED_UPTO(a, 4, key, 10) == 1);
	CHECK(SORTED_UPTO(a, 4, key, 19) == 1);
	CHECK(SORTED_UPTO(a, 4, key, 20) == 3);
	CHECK(SORTED_UPTO(a, 4, key, 29) == 3);
	CHECK(SORTED_UPTO(a, 4, key, UINT64_MAX) == 4);
	CHECK(SORTED_UPTO(a, 1, key, 10) == 1);
}

static void test_cache(void)
{
	struct loccache c;
	int bad = 0;

	loccache_init(&c);
	CHECK(loccache_find(&c, 0x1000, false) == 0);
	CHECK(loccache_add(&c, 0x1000, false, true, 1) == 0);
	CHECK(loccache_add(&c, 0x1000, true, true, 2) == 0);
	CHECK(loccache_add(&c, 0x2000, false, false, 3) == 0);
	CHECK(loccache_find(&c, 0x1000, false) == 1);
	CHECK(loccache_find(&c, 0x1000, true) == 2);
	CHECK(loccache_find(&c, 0x2000, false) == 3);
	CHECK(loccache_find(&c, 0x2000, true) == 0);
	CHECK(c.unmapped == 1);
	/* Entries in no mapping go, the others stay findable. */
	for (uint64_t pc = 0x10000; pc < 0x10000 + 5000; pc++)
		bad += loccache_add(&c, pc, false, pc % 2, pc) < 0;
	CHECK(bad == 0 && c.unmapped == 2501);
	CHECK(loccache_keep_mapped(&c) == 0);
	CHECK(c.unmapped == 0 && c.n == 2 + 2500);
	CHECK(loccache_find(&c, 0x2000, false) == 0);
	CHECK(loccache_find(&c, 0x1000, true) == 2);
	for (uint64_t pc = 0x10000; pc < 0x10000 + 5000; pc++)
		bad += loccache_find(&c, pc, false) != (pc % 2 ? pc : 0);
	CHECK(bad == 0);
	loccache_clear(&c);
	CHECK(c.n == 0 && loccache_find(&c, 0x1000, false) == 0);
	CHECK(loccache_add(&c, 0x1000, false, true, 7) == 0 && loccache_find(&c, 0x1000, false) == 7);
	loccache_release(&c);
}

int main(void)
{
	test_sorted();
	test_cache();
	return test_done("test-loccache");
}
