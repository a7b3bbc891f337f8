#!/usr/bin/env bash
# make-rpmdb.sh ROOT SPEC... - put an rpm database (rpmdb.sqlite) with made-up packages into ROOT.
#
# Each SPEC is NAME:VERSION:RELEASE[:FILES[:EPOCH[:SOURCE]]]: a noarch package listing FILES files
# (default 1; the first is /usr/lib64/liblzma.so.VERSION for names starting with xz, else
# /usr/share/NAME/f0...) built with Debian's rpmbuild and registered with `rpm --justdb`, so the
# database is written by rpm itself and no file is installed. SOURCE names the source package
# (SOURCERPM); default NAME. Needs: rpm (Debian package, which includes rpmbuild).
set -euo pipefail
die() { echo "make-rpmdb.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: make-rpmdb.sh ROOT NAME:VERSION:RELEASE[:FILES[:EPOCH[:SOURCE]]]..."
command -v rpmbuild >/dev/null && command -v rpm >/dev/null || die "needs rpm and rpmbuild (apt-get install rpm)"
root="$(realpath -m "$1")"; shift
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$root"
rpm --root "$root" --dbpath /var/lib/rpm --initdb
for spec in "$@"; do
  IFS=: read -r name version release files epoch source <<< "$spec"
  files=${files:-1}; source=${source:-$name}
  [ -n "$name" ] && [ -n "$version" ] && [ -n "$release" ] || die "bad spec '$spec'"
  if [[ "$name" == xz* ]]; then first="/usr/lib64/liblzma.so.$version"; else first="/usr/share/$name/f0"; fi
  {
    echo "Name: $source"; echo "Version: $version"; echo "Release: $release"
    [ -n "$epoch" ] && echo "Epoch: $epoch"
    echo "Summary: chainwatch fixture"; echo "License: none"; echo "BuildArch: noarch"
    echo "%description"; echo "fixture"
    if [ "$name" != "$source" ]; then
      echo "%package -n $name"; echo "Summary: fixture"; echo "%description -n $name"; echo "fixture"
    fi
    echo "%install"
    echo "mkdir -p %{buildroot}$(dirname "$first") %{buildroot}/usr/share/$name"
    echo "echo fixture > %{buildroot}$first"
    echo "for i in \$(seq 1 $((files - 1))); do echo \$i > %{buildroot}/usr/share/$name/file-with-a-long-name-to-fill-pages-\$i; done"
    if [ "$name" != "$source" ]; then echo "%files -n $name"; else echo "%files"; fi
    echo "$first"
    [ "$files" -gt 1 ] && echo "/usr/share/$name/file-with-a-long-name-to-fill-pages-*"
  } > "$work/$name.spec"
  rpmbuild -bb --nodeps --quiet --define "_topdir $work/top" --define "_build_id_links none" \
    --define "__os_install_post %{nil}" "$work/$name.spec" > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "rpmbuild $spec failed"; }
done
rpm --root "$root" --dbpath /var/lib/rpm -i --nodeps --justdb --noscripts --ignorearch --ignoreos \
  "$work"/top/RPMS/noarch/*.rpm 2>&1 | grep -v "should not be used directly\|assuming you know what" || true
[ -n "$(rpm --root "$root" --dbpath /var/lib/rpm -qa)" ] || die "rpm lists no package in $root"
