#!/usr/bin/env bash
# Fails on an #include "..." of project code that runs up the layer list in
# docs/architecture.md (between <!-- layers --> and <!-- /layers -->, top
# first): a folder may include its own headers and those of the folders
# below it, never those above. Also fails on an include of a folder that is
# not a layer. tests/, bench/ and demos/ sit outside the layers and are not
# checked. Run by the test suite (ctest -R check_layers); exit 0 when clean.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
doc="$ROOT/docs/architecture.md"
[ -f "$doc" ] || { echo "check-layers: $doc: missing" >&2; exit 2; }

# The layers, top first: the first `folder/` of each table row in the block.
mapfile -t layers < <(sed -n '/<!-- layers -->/,/<!-- \/layers -->/p' "$doc" |
                      sed -nE 's/^\| *`([a-z_]+)\/`.*/\1/p')
[ ${#layers[@]} -ge 2 ] || { echo "check-layers: $doc: no layer table between <!-- layers --> and <!-- /layers -->" >&2; exit 2; }
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

bad=0 files=0 includes=0
for layer in "${layers[@]}"; do
  [ -d "$ROOT/$layer" ] || { echo "check-layers: layer $layer/ has no folder" >&2; bad=$((bad + 1)); continue; }
  while IFS= read -r -d '' file; do
    files=$((files + 1))
    while IFS=: read -r line target; do
      includes=$((includes + 1))
      top="${target%%/*}"
      rel="${file#"$ROOT"/}"
      if [ "$top" = "$target" ]; then
        echo "$rel:$line: #include \"$target\": project includes name their folder" ; bad=$((bad + 1))
      elif [ -z "${rank[$top]+x}" ]; then
        echo "$rel:$line: #include \"$target\": $top/ is not a layer in docs/architecture.md"; bad=$((bad + 1))
      elif [ "${rank[$top]}" -lt "${rank[$layer]}" ]; then
        echo "$rel:$line: #include \"$target\": $layer/ may not include $top/, which sits above it"; bad=$((bad + 1))
      fi
    done < <(awk '/^[ \t]*#[ \t]*include[ \t]*"/ { s = $0; sub(/^[^"]*"/, "", s); sub(/".*$/, "", s); print FNR ":" s }' "$file")
  done < <(find "$ROOT/$layer" -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) -print0)
done
echo "check-layers: ${#layers[@]} layers (${layers[*]}), $files files, $includes includes, $bad problems"
[ "$bad" -eq 0 ]
