#!/usr/bin/env bash
# Writes sections.tsv (package<TAB>Debian section) for the packages of packages.tsv, from the Debian 12 (bookworm)
# main/amd64 package index that `apt-get update` keeps in /var/lib/apt/lists (run from the repo root on a bookworm
# machine). Packages not in that index (built for other architectures only) get no line.
set -euo pipefail
index=$(ls /var/lib/apt/lists/*_debian_dists_bookworm_main_binary-amd64_Packages*)
cd samples/debian-text-2k
/usr/lib/apt/apt-helper cat-file "$index" \
  | awk 'NR == FNR { if ($1 == "Package:") name = $2; else if ($1 == "Section:") section[name] = $2; next }
         ($1 in section) { print $1 "\t" section[$1] }' - FS='\t' packages.tsv > sections.tsv
