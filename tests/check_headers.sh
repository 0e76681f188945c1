#!/usr/bin/env bash
# Every public header compiles on its own as strict C11 and as C++ (-Wall -Wextra -pedantic -Werror).
set -euo pipefail
include_dir=$1
cc=${CC:-cc}
cxx=${CXX:-c++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for header in "$include_dir"/axial/*.h; do
    name=axial/$(basename "$header")
    printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$name" "$name" > "$work/t.c"
    if ! "$cc" -std=c11 -Wall -Wextra -pedantic -Werror -I "$include_dir" -c "$work/t.c" -o "$work/t.o"; then
        echo "FAIL: $name as C11"; status=1
    fi
    cp "$work/t.c" "$work/t.cpp"
    if ! "$cxx" -std=c++11 -Wall -Wextra -pedantic -Werror -I "$include_dir" -c "$work/t.cpp" -o "$work/t.o"; then
        echo "FAIL: $name as C++"; status=1
    fi
    echo "checked $name"
done
exit $status
