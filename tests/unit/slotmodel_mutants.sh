#!/bin/bash
# Measures what the slot rings' model test (test_slotmodel.c) catches: builds it once per
# mutant of the producer protocol (TD_MODEL_MUTANT in slotmodel.h), plain and under
# ThreadSanitizer, runs each for TD_MODEL_MS (default 1000) ms a case, and says which build
# failed it. Every mutant should be caught by one of the two. Not part of `make test` (about
# four minutes on two cores). Usage: bash tests/unit/slotmodel_mutants.sh [N...]
set -u
cd "$(dirname "$0")/../.." || exit 1
out=${OUTPUT:-build}/mutants
mkdir -p "$out"
export TD_MODEL_MS=${TD_MODEL_MS:-1000}
flags=(-g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -Iuser -Iuser/core -Iuser/kernel -Iuser/views)
src=(tests/unit/test_slotmodel.c user/kernel/cpumerge.c -lcmocka -lpthread)
missed=0
[ $# -gt 0 ] || set -- 1 2 3 4 5 6 7 8
for m in "$@"; do
	${CC:-cc} -O2 "${flags[@]}" -DTD_MODEL_MUTANT="$m" "${src[@]}" -o "$out/plain$m" || exit 1
	${CLANG:-clang} -O1 -fsanitize=thread "${flags[@]}" -DTD_MODEL_NO_SIGNALS \
		-DTD_MODEL_MUTANT="$m" "${src[@]}" -o "$out/tsan$m" || exit 1
	"$out/plain$m" >"$out/plain$m.log" 2>&1
	plain=$?
	TSAN_OPTIONS=halt_on_error=1 "$out/tsan$m" >"$out/tsan$m.log" 2>&1
	tsan=$?
	what=$(grep -m1 -E '^ERROR|WARNING: ThreadSanitizer' "$out/plain$m.log" "$out/tsan$m.log" |
		cut -c1-160)
	if [ $plain = 0 ] && [ $tsan = 0 ]; then
		missed=$((missed + 1))
		echo "mutant $m: MISSED"
	else
		echo "mutant $m: caught (plain exit $plain, tsan exit $tsan): $what"
	fi
done
echo "mutants: $missed missed"
[ $missed = 0 ]
