# bash completion for zeroflow. Installed to share/bash-completion/completions/zeroflow, where
# Debian's bash-completion loads it on first use; or `source` it from ~/.bashrc.

_zeroflow_dataflows() { # UUIDs and names the daemon knows (nothing when none runs)
    zeroflow list --json 2>/dev/null | sed -n 's/^ *"\(uuid\|name\)": "\([^"]\+\)",\{0,1\}$/\2/p'
}

_zeroflow_nodes() { # node ids of dataflow $1 (list --json sorts keys: name, nodes, ..., uuid)
    zeroflow list --json 2>/dev/null | awk -v df="$1" '
        /^    "name": / { gsub(/[",]/, "", $2); name = $2; ids = "" }
        /^        "id": / { gsub(/[",]/, "", $2); ids = ids " " $2 }
        /^    "uuid": / { gsub(/[",]/, "", $2); if ($2 == df || name == df) print ids }'
}

_zeroflow_files() { # dataflow files (*.yml, *.yaml) and folders
    local IFS=$'\n' f
    compopt -o filenames 2>/dev/null
    COMPREPLY=()
    for f in $(compgen -f -- "$1"); do
        [[ -d $f || $f == *.yml || $f == *.yaml ]] && COMPREPLY+=("$f")
    done
}

_zeroflow() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands="new check graph up destroy daemon start stop list logs build run clean top topic record replay bench"
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    local command=${COMP_WORDS[1]}
    case $prev in
    --lang) COMPREPLY=($(compgen -W "cpp c python" -- "$cur")); return ;;
    --kind) COMPREPLY=($(compgen -W "dataflow node" -- "$cur")); return ;;
    -f | --format) COMPREPLY=($(compgen -W "mermaid dot" -- "$cur")); return ;;
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    --run-dataflow) _zeroflow_files "$cur"; return ;;
    -o | --output | --log-file)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --grace | --grace-duration | --stop-after | --start-timeout)
        COMPREPLY=($(compgen -W "500ms 1s 5s 10s 30s 1m" -- "$cur"))
        return
        ;;
    --name) return ;;
    --compression) COMPREPLY=($(compgen -W "zstd lz4 none" -- "$cur")); return ;;
    -d) COMPREPLY=($(compgen -W "$(_zeroflow_dataflows)" -- "$cur")); return ;;
    --dataflow)
        if [[ $command == replay || $command == check ]]; then _zeroflow_files "$cur"; else
            COMPREPLY=($(compgen -W "$(_zeroflow_dataflows)" -- "$cur")); fi
        return
        ;;
    --mode) COMPREPLY=($(compgen -W "busy blocking both" -- "$cur")); return ;;
    --pattern) COMPREPLY=($(compgen -W "pingpong oneway fanout:2 chain:2" -- "$cur")); return ;;
    --sizes | --cpus | --duration) return ;;
    --plot) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then
        local options="--help"
        case $command in
        new) options+=" --lang --kind" ;;
        check) options+=" --dataflow" ;;
        graph) options+=" --format --mermaid --output" ;;
        up) options+=" --machine-id" ;;
        destroy) options+=" --grace" ;;
        daemon) options+=" --log-file --run-dataflow --machine-id" ;;
        start) options+=" --name --attach --detach --start-timeout" ;;
        stop) options+=" --grace --grace-duration --name" ;;
        list) options+=" --json" ;;
        logs) options+=" --follow" ;;
        run) options+=" --stop-after --name --start-timeout --grace --quiet --color" ;;
        top) options+=" --once --json --interval" ;;
        topic) options+=" --dataflow --count --duration --window --json" ;;
        record) options+=" --output --outputs --compression --duration --json" ;;
        replay) options+=" --dataflow --rate --loop --name --json" ;;
        bench) options+=" --sizes --mode --pattern --cpus --duration --json --plot --lang" ;;
        esac
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        return
    fi
    # Positional arguments: count the words before this one that are not options or their values.
    local i positional=0
    for ((i = 2; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --lang | --kind | -f | --format | --color | -o | --output | --log-file | --grace | \
            --grace-duration | \
            --stop-after | --start-timeout | --name | -d | --dataflow | --compression | \
            --outputs | --rate | --interval | --count | -n | --duration | --window | \
            --run-dataflow | --machine-id) ((i++)) ;;
        -*) ;;
        *) ((positional++)) ;;
        esac
    done
    case $command in
    check | graph | start | build | run | clean) ((positional == 0)) && _zeroflow_files "$cur" ;;
    stop | top | record) ((positional == 0)) && COMPREPLY=($(compgen -W "$(_zeroflow_dataflows)" -- "$cur")) ;;
    topic)
        if ((positional == 0)); then
            COMPREPLY=($(compgen -W "list info hz bw echo" -- "$cur"))
        elif ((positional == 1)) && [[ ${COMP_WORDS[2]} == list ]]; then
            COMPREPLY=($(compgen -W "$(_zeroflow_dataflows)" -- "$cur"))
        fi
        ;;
    replay) ((positional == 0)) && { compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); } ;;
    logs)
        if ((positional == 0)); then
            COMPREPLY=($(compgen -W "$(_zeroflow_dataflows)" -- "$cur"))
        elif ((positional == 1)); then
            local dataflow
            for ((i = 2; i < COMP_CWORD; i++)); do
                [[ ${COMP_WORDS[i]} != -* ]] && { dataflow=${COMP_WORDS[i]}; break; }
            done
            COMPREPLY=($(compgen -W "$(_zeroflow_nodes "$dataflow")" -- "$cur"))
        fi
        ;;
    esac
}
complete -F _zeroflow zeroflow
