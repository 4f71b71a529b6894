# fish completion for cprof(1).
#
# Everything comes from the binary at completion time: `cprof --complete` lists
# the commands ("NAME<TAB>SUMMARY"), and `cprof --complete CMD` lists CMD's
# options ("--NAME<TAB>ARG<TAB>COMPLETE<TAB>HELP") and a last line
# ":args<TAB>KIND" for its positional arguments. COMPLETE and KIND are "file",
# "pid", words separated by '|', or empty. Nothing here names an option, so the
# completion cannot drift from the option tables.

# Running pids, each with its command name, from /proc, else from ps.
function __cprof_pids
    if test -r /proc/self/comm
        for d in (string match -r '^/proc/\d+$' -- /proc/*)
            read -l comm <$d/comm 2>/dev/null
            printf '%s\t%s\n' (string replace /proc/ '' -- $d) "$comm"
        end
    else
        ps -A -o pid=,comm= 2>/dev/null | string trim | string replace -r '\s+' \t
    end
end

# Candidates for a value of kind KIND ("file", "pid", "a|b|c" or empty).
function __cprof_kind -a kind cur
    switch "$kind"
        case ''
            return 1
        case file
            __fish_complete_path "$cur"
        case pid
            __cprof_pids
        case '*'
            string split '|' -- $kind
    end
end

function __cprof_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l n (count $tokens)
    set -l prog (string replace -r '^~/' "$HOME/" -- $tokens[1])

    if test $n -eq 1
        if string match -q -- '-*' "$cur"
            printf '%s\t%s\n' --help 'show the commands and exit' --version 'print the version and exit'
        else
            command $prog --complete 2>/dev/null
        end
        return
    end

    set -l cmd $tokens[2]
    if test "$cmd" = help
        test $n -eq 2; and command $prog --complete 2>/dev/null
        return
    end
    string match -q -- '-*' "$cmd"; and return

    set -l names
    set -l args
    set -l kinds
    set -l helps
    set -l args_kind
    for line in (command $prog --complete $cmd 2>/dev/null)
        set -l f (string split \t -- $line)
        if test "$f[1]" = :args
            set args_kind "$f[2]"
            continue
        end
        set -a names "$f[1]"
        set -a args "$f[2]"
        set -a kinds "$f[3]"
        set -a helps "$f[4]"
    end
    test (count $names) -gt 0; or return

    # After "--" only arguments follow: positional ones of their kind, or, for a
    # command that takes none (cprof cpu -- CMD), a command and its arguments.
    for i in (seq 3 $n)
        test "$tokens[$i]" = --; or continue
        if test -n "$args_kind"
            __cprof_kind $args_kind "$cur"
        else
            set -l rest $tokens[(math $i + 1)..-1]
            complete -C (string join ' ' -- (string escape -- $rest) "$cur")
        end
        return
    end

    # The option whose value is being completed: "--opt VALUE" or "--opt=VALUE".
    set -l opt
    set -l prefix
    set -l val "$cur"
    if string match -q -- '--*=*' "$cur"
        set -l kv (string split -m 1 = -- "$cur")
        set opt $kv[1]
        set prefix "$kv[1]="
        set val "$kv[2]"
    else if string match -q -- '--*' "$tokens[-1]"
        set opt $tokens[-1]
    end
    if test -n "$opt"
        set -l i (contains -i -- $opt $names)
        if test -n "$i"; and test -n "$args[$i]"
            for c in (__cprof_kind "$kinds[$i]" "$val")
                printf '%s%s\n' $prefix $c
            end
            return
        end
        test -n "$prefix"; and return
    end

    if string match -q -- '-*' "$cur"; or test -z "$args_kind"
        for i in (seq (count $names))
            printf '%s\t%s\n' $names[$i] $helps[$i]
        end
    else
        __cprof_kind $args_kind "$cur"
    end
end

complete -c cprof -f -a '(__cprof_complete)'
