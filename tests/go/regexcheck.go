// regexcheck: tests/regexcheck.c's lines for Go's regexp, which go tool
// pprof compiles its options with.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	var re *regexp.Regexp
	for in.Scan() {
		line := in.Text()
		if line[0] == 'P' {
			var err error
			if re, err = regexp.Compile(line[2:]); err != nil {
				re = nil
				fmt.Fprintln(out, "P 0")
			} else {
				fmt.Fprintln(out, "P 1")
			}
		} else if re == nil {
			fmt.Fprintln(out, "-")
		} else if re.MatchString(line[2:]) {
			fmt.Fprintln(out, "1")
		} else {
			fmt.Fprintln(out, "0")
		}
	}
}
