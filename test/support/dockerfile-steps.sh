#!/usr/bin/env bash
# Replays the Dockerfile's steps without a container engine, in a clean temporary directory, and checks the result
# the way the image would be used:
#   1. the build context is `git archive <ref>` (default HEAD), so only committed files count, as in a clean clone;
#   2. each stage gets its own directory standing for its root filesystem; WORKDIR, COPY (also --from=<stage>),
#      ENV, ARG, USER, ENTRYPOINT and CMD are interpreted; RUN steps run in the stage's WORKDIR with the project's
#      pinned Node 24 first on PATH, standing for the base image's Node;
#   3. a RUN step this script does not know makes it fail (so the Dockerfile and this replay cannot drift apart):
#      `npm ...` steps are run, `rm -rf /usr/local/...` steps (cleaning the base image) are checked instead by
#      running the final stage with no npm on PATH;
#   4. the final stage is then run as in the image: as uid 10001 (setpriv) with an app directory it cannot write,
#      no npm, only the production dependencies: ENTRYPOINT --help, ENTRYPOINT CMD --help, and an import of every
#      compiled module. It must not contain the `node` devDependency or any build tool.
#
# Usage: test/support/dockerfile-steps.sh [--ref <git-ref> | --worktree] [--keep]
#   --worktree  use the working tree's tracked and untracked (not ignored) files instead of a commit
#   --keep      keep the temporary directory (printed at the end)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
ref=HEAD
worktree=0
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --ref) ref="$2"; shift 2 ;;
    --worktree) worktree=1; shift ;;
    --keep) keep=1; shift ;;
    *) echo "dockerfile-steps: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { printf 'dockerfile-steps: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }

pinned_node="$repo/node_modules/node/bin/node"
[ -x "$pinned_node" ] || die "the project's pinned Node is missing ($pinned_node): run npm ci first"
node_major="$("$pinned_node" -p 'process.versions.node.split(".")[0]')"

work="$(mktemp -d "${TMPDIR:-/tmp}/volume-guard-dockerfile.XXXXXX")"
chmod 755 "$work"
cleanup() { if [ "$keep" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

# The base image's binaries: only node. npm is taken from the machine for RUN steps (it is in the base image).
base_bin="$work/base-bin"
mkdir -p "$base_bin"
ln -s "$pinned_node" "$base_bin/node"
npm_bin="$(command -v npm)" || die "npm not found"
run_path="$base_bin:$(dirname "$npm_bin"):/usr/local/bin:/usr/bin:/bin"

context="$work/context"
mkdir -p "$context"
if [ "$worktree" = 1 ]; then
  say "context: working tree of $repo"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) | tar -xf - -C "$context"
else
  say "context: git archive $ref of $repo"
  git -C "$repo" archive "$ref" | tar -xf - -C "$context"
fi
[ -f "$context/Dockerfile" ] || die "no Dockerfile in the build context"

# .dockerignore: a COPY from the context of an ignored path would copy nothing in a real build.
ignored=()
if [ -f "$context/.dockerignore" ]; then
  while IFS= read -r line; do
    line="${line%%#*}"; line="$(echo "$line" | xargs)"
    [ -n "$line" ] && ignored+=("$line")
  done < "$context/.dockerignore"
fi
is_ignored() { # is_ignored <path relative to context>
  local p="${1#./}" pat
  for pat in "${ignored[@]}"; do
    pat="${pat#/}"
    # shellcheck disable=SC2053
    if [[ "$p" == $pat || "$p" == $pat/* ]]; then return 0; fi
  done
  return 1
}

# Join continuation lines, drop comments and blank lines.
instructions="$work/instructions"
awk '
  /^[[:space:]]*#/ && cont == "" { next }
  {
    line = $0
    if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); cont = cont line " "; next }
    line = cont line; cont = ""
    if (line ~ /^[[:space:]]*$/) next
    print line
  }' "$context/Dockerfile" > "$instructions"

declare -A args=()
declare -A stage_dir=()
stage=""
root=""
workdir="/"
stage_env=()
user=""
entrypoint=""
cmd=""

expand() { # expand ARG references ${NAME} / $NAME
  local text="$1" name
  for name in "${!args[@]}"; do
    text="${text//\$\{$name\}/${args[$name]}}"
    text="${text//\$$name/${args[$name]}}"
  done
  printf '%s' "$text"
}

in_stage() { # in_stage <container path> -> host path
  local p="$1"
  case "$p" in
    /*) printf '%s%s' "$root" "$p" ;;
    *) printf '%s%s/%s' "$root" "${workdir%/}" "$p" ;;
  esac
}

copy_one() { # copy_one <host source> <host destination> <destination is a directory>
  local src="$1" dst="$2" dst_is_dir="$3"
  if [ -d "$src" ]; then
    mkdir -p "$dst"
    cp -a "$src/." "$dst/"
  elif [ -f "$src" ]; then
    if [ "$dst_is_dir" = 1 ]; then mkdir -p "$dst"; cp -a "$src" "$dst/"; else mkdir -p "$(dirname "$dst")"; cp -a "$src" "$dst"; fi
  else
    die "COPY source not found: $src"
  fi
}

step_no=0
while IFS= read -r line; do
  step_no=$((step_no + 1))
  instruction="$(printf '%s' "$line" | awk '{print toupper($1)}')"
  rest="$(printf '%s' "$line" | sed -E 's/^[[:space:]]*[A-Za-z]+[[:space:]]+//')"
  case "$instruction" in
    ARG)
      name="${rest%%=*}"
      if [[ "$rest" == *=* ]]; then args[$name]="${rest#*=}"; else args[$name]="${args[$name]:-}"; fi
      ;;
    FROM)
      read -r image _as name <<<"$(expand "$rest")"
      [ -n "${name:-}" ] || name="stage$step_no"
      stage="$name"; root="$work/stages/$name"; workdir="/"; stage_env=(); user=""
      mkdir -p "$root"
      stage_dir[$name]="$root"
      case "$image" in
        node:${node_major}-*|node:${node_major}) ;;
        *) die "FROM $image: expected a node:${node_major} image, the Node major the project pins" ;;
      esac
      say "stage $name (FROM $image)"
      ;;
    WORKDIR)
      case "$rest" in /*) workdir="$rest" ;; *) workdir="${workdir%/}/$rest" ;; esac
      mkdir -p "$root$workdir"
      ;;
    ENV)
      stage_env+=("$rest")
      ;;
    USER)
      user="$rest"
      ;;
    EXPOSE) ;;
    ENTRYPOINT) entrypoint="$rest" ;;
    CMD) cmd="$rest" ;;
    COPY)
      from=""
      read -r -a words <<<"$rest"
      while [[ "${words[0]}" == --* ]]; do
        case "${words[0]}" in
          --from=*) from="${words[0]#--from=}" ;;
          --chown=*|--chmod=*|--link) ;;
          *) die "COPY option ${words[0]} not understood" ;;
        esac
        words=("${words[@]:1}")
      done
      dst="${words[${#words[@]}-1]}"
      sources=("${words[@]:0:${#words[@]}-1}")
      dst_is_dir=0
      if [[ "$dst" == */ || ${#sources[@]} -gt 1 ]]; then dst_is_dir=1; fi
      host_dst="$(in_stage "$dst")"
      for src in "${sources[@]}"; do
        if [ -n "$from" ]; then
          [ -n "${stage_dir[$from]:-}" ] || die "COPY --from=$from: no such stage"
          case "$src" in /*) host_src="${stage_dir[$from]}$src" ;; *) die "COPY --from=$from $src: use absolute paths" ;; esac
        else
          is_ignored "$src" && die "COPY $src: the path is excluded by .dockerignore"
          host_src="$context/${src#./}"
        fi
        copy_one "$host_src" "$host_dst" "$dst_is_dir"
      done
      ;;
    RUN)
      rest="$(printf '%s' "$rest" | tr -s '[:space:]' ' ' | sed -E 's/ $//')"
      if [[ "$rest" =~ ^rm\ -rf(\ /usr/local/[^[:space:]]+)+[[:space:]]*$ ]]; then
        say "  RUN $rest  (base image cleanup: checked by running the final stage without npm)"
        continue
      fi
      if [[ ! "$rest" =~ ^npm\ (ci|run\ build)([[:space:]]|$) ]]; then
        die "RUN $rest: a step this replay does not know; teach test/support/dockerfile-steps.sh"
      fi
      say "  RUN $rest"
      start=$(date +%s)
      (
        cd "$root$workdir"
        export PATH="$run_path" npm_config_update_notifier=false
        for assignment in "${stage_env[@]}"; do export "${assignment?}"; done
        bash -c "$rest"
      ) > "$work/run-$step_no.log" 2>&1 || { tail -n 40 "$work/run-$step_no.log" >&2; die "RUN $rest failed"; }
      say "    done in $(( $(date +%s) - start ))s"
      ;;
    *)
      die "instruction $instruction not understood"
      ;;
  esac
done < "$instructions"

final="$root$workdir"
say "final stage $stage, WORKDIR $workdir, USER $user"

# ---- checks on the final stage ----
[[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || die "USER must be a numeric non-root uid (got '$user')"
uid="${user%%:*}"
gid="${user#*:}"; [ "$gid" != "$user" ] || gid="$uid"

for entry in "$final"/* "$final"/.[!.]*; do
  [ -e "$entry" ] || continue
  case "$(basename "$entry")" in
    package.json|node_modules|dist) ;;
    *) die "unexpected file in the runtime image: $workdir/$(basename "$entry")" ;;
  esac
done
[ -f "$final/dist/cli.js" ] || die "dist/cli.js missing in the runtime stage"
for tool in node typescript vitest eslint @types/node/tsconfig; do
  [ ! -e "$final/node_modules/$tool" ] || die "devDependency $tool is in the runtime image"
done
[ ! -e "$final/node_modules/.bin/node" ] || die "node_modules/.bin/node is in the runtime image"
say "runtime holds package.json, dist/ and $(ls "$final/node_modules" | wc -l) production packages; no devDependencies"

# The app directory belongs to root and is not writable by the runtime user: a write would fail as on a
# read-only root filesystem.
chown -R 0:0 "$root"
chmod -R go-w "$root"
as_user=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  as_user=("$(command -v setpriv)" --reuid="$uid" --regid="$gid" --clear-groups)
else
  say "not root or no setpriv: running the smoke test as $(id -un) instead of uid $uid"
fi
smoke_tmp="$work/tmp"
mkdir -p "$smoke_tmp"; chmod 1777 "$smoke_tmp"
run_final() {
  local envs=(PATH="$base_bin" HOME=/nonexistent TMPDIR="$smoke_tmp")
  for assignment in "${stage_env[@]}"; do envs+=("$assignment"); done
  (cd "$final" && "${as_user[@]}" env -i "${envs[@]}" "$@")
}

json_words() { "$pinned_node" -e 'for (const w of JSON.parse(process.argv[1])) console.log(w)' "$1"; }
mapfile -t entry_words < <(json_words "${entrypoint:-[]}")
mapfile -t cmd_words < <(json_words "${cmd:-[]}")
[ "${#entry_words[@]}" -gt 0 ] || die "no ENTRYPOINT"

say "smoke: ${entry_words[*]} --help"
out="$(run_final "${entry_words[@]}" --help 2>&1)" || { echo "$out" >&2; die "${entry_words[*]} --help failed"; }
grep -q serve <<<"$out" || { echo "$out" >&2; die "--help does not list the serve command"; }
say "smoke: ${entry_words[*]} ${cmd_words[*]} --help"
out="$(run_final "${entry_words[@]}" "${cmd_words[@]}" --help 2>&1)" || { echo "$out" >&2; die "${entry_words[*]} ${cmd_words[*]} --help failed"; }

say "smoke: import every compiled module with production dependencies only"
modules="$(cd "$final" && find dist -name '*.js' ! -path dist/cli.js | sort | sed 's|^|./|')"
count="$(wc -l <<<"$modules")"
out="$(run_final node --input-type=module -e '
  for (const file of process.argv.slice(1)) await import(new URL(file, `file://${process.cwd()}/`).href);
' $modules 2>&1)" || { echo "$out" >&2; die "importing the compiled modules failed"; }
say "imported $count modules"

echo "dockerfile-steps: OK"
