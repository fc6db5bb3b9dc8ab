# Kaldi-style option parsing. Source it after the variables with their defaults are defined:
#
#   stage=0; stop_stage=100; use_gpu=false; help_message="usage: $0 [opts] <data> <exp>"
#   . utils/parse_options.sh
#
# "--foo-bar VALUE" (or --foo_bar) sets the existing shell variable foo_bar; an unknown option is an
# error. A variable whose current value is true or false only takes true or false; one whose current
# value is an integer only takes an integer (write float defaults as 1.0). "--config FILE" (may be
# repeated) is sourced before any other option is applied, so the command line wins over it.
# "--help" / "-h" prints $help_message, then every option of the calling script (the variables
# assigned at the start of a line before this file is sourced, also in files it sources first) with
# its value and its trailing comment, and exits 0. "--name=value" is rejected. Parsing stops at the first word that is not an
# option (or after "--"); the positional arguments stay in "$@".
# Safe under "set -euo pipefail". Errors print a message and exit 1 (this file is sourced).

__po_die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# The options of the calling script: "name=value  # comment" lines before parse_options.sh is sourced,
# and those of the files it sources before that (". local/backbone.sh": shared option defaults).
__po_list_options() {
  [ -f "$0" ] || return 0
  echo
  echo "Options (current value; set with --name value):"
  __po_list_file "$0" 1
}

__po_list_file() {
  local line name comment
  while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^[[:space:]]*(\.|source)[[:space:]].*parse_options\.sh ]] && break
    if [ "$2" = 1 ] && [[ "$line" =~ ^(\.|source)[[:space:]]+([^[:space:]\"\'\$]+) ]] && [ -f "${BASH_REMATCH[2]}" ]; then
      __po_list_file "${BASH_REMATCH[2]}" 0
      continue
    fi
    [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=[^#]*(#[[:space:]]*(.*))?$ ]] || continue
    name=${BASH_REMATCH[1]}
    comment=${BASH_REMATCH[3]}
    [ "$name" = help_message ] && continue
    [ -n "${!name+set}" ] || continue
    printf '  --%-28s %s\n' "${name//_/-} ${!name}" "${comment:+# $comment}"
  done < "$1"
}

# Pass 1: source the --config files (only among the leading options).
__po_i=1
while [ "$__po_i" -le "$#" ]; do
  __po_arg=${!__po_i}
  case "$__po_arg" in
    --) break ;;
    --config)
      __po_i=$((__po_i + 1))
      [ "$__po_i" -le "$#" ] || __po_die "option --config needs a value"
      __po_file=${!__po_i}
      [ -f "$__po_file" ] || __po_die "config file '$__po_file' not found"
      # shellcheck disable=SC1090
      . "$__po_file"
      ;;
    -h|--help) ;;
    --*=*) ;;  # reported in pass 2
    --?*) __po_i=$((__po_i + 1)) ;;  # skip its value
    *) break ;;
  esac
  __po_i=$((__po_i + 1))
done

# Pass 2: apply the options and shift them away.
while [ "$#" -gt 0 ]; do
  case "$1" in
    --)
      shift
      break
      ;;
    -h|--help)
      printf '%s\n' "${help_message:-no help available}"
      __po_list_options
      exit 0
      ;;
    --*=*)
      __po_die "use '${1%%=*} ${1#*=}' (with a space), not '$1'"
      ;;
    --config)
      shift 2
      ;;
    --?*)
      __po_name=${1#--}
      __po_name=${__po_name//-/_}
      [[ "$__po_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || __po_die "invalid option '$1'"
      [ -n "${!__po_name+set}" ] || __po_die "invalid option '$1' (no variable $__po_name)"
      [ "$#" -ge 2 ] || __po_die "option $1 needs a value"
      case "${!__po_name}" in
        true|false)
          case "$2" in
            true|false) ;;
            *) __po_die "option $1 expects true or false, got '$2'" ;;
          esac
          ;;
      esac
      if [[ "${!__po_name}" =~ ^-?[0-9]+$ ]] && ! [[ "$2" =~ ^-?[0-9]+$ ]]; then
        __po_die "option $1 expects an integer, got '$2'"
      fi
      printf -v "$__po_name" '%s' "$2"
      shift 2
      ;;
    *)
      break
      ;;
  esac
done

unset -v __po_i __po_arg __po_file __po_name
unset -f __po_die __po_list_options
true
