// Command dataops gives data teams pull-request checks for dbt-style
// projects: compile, build into a branch environment, diff against
// production, and report. Run `dataops help` for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	// The warehouse engines register themselves; the binary links both.
	_ "github.com/dataops-dev/dataops/internal/warehouse/duckdb"
	_ "github.com/dataops-dev/dataops/internal/warehouse/postgres"
)

// Exit codes scripts can rely on.
const (
	exitOK      = 0
	exitFailure = 1 // the work ran and found problems (compile errors, failed tests)
	exitUsage   = 2 // the command line or the configuration is wrong
)

// command is one subcommand: its one-line summary, its usage line, and what
// it runs.
type command struct {
	summary string
	usage   string
	run     func(args []string, out, errOut io.Writer) int
}

var commands = map[string]command{}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, out, errOut io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"--help"}, out, errOut)
			}
		}
		printHelp(out)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(errOut, "dataops: unknown command %q\n\n", args[0])
		printHelp(errOut)
		return exitUsage
	}
	return c.run(args[1:], out, errOut)
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "dataops: pull-request checks for dbt-style SQL projects.")
	fmt.Fprintln(w, "\nUsage: dataops <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `dataops <command> --help` for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 the checks found problems, 2 bad usage or configuration.")
}

// newFlags makes a flag set whose --help prints the command's usage and
// whose errors say what to do.
func newFlags(name string, c command, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n\nUsage: dataops %s\n\nFlags:\n", c.summary, c.usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns an exit code when the command should
// stop (help asked for, or bad flags).
func parseFlags(fs *flag.FlagSet, args []string, out io.Writer) (int, bool) {
	// Parse prints the usage itself on -help and on a bad flag; hold it back
	// so that help goes to stdout alone, not to stderr as well.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(out)
			fs.Usage()
			return exitOK, true
		}
		fs.Usage()
		return exitUsage, true
	}
	return 0, false
}

func usageError(errOut io.Writer, name, format string, args ...any) int {
	fmt.Fprintf(errOut, "dataops %s: %s\nRun `dataops %s --help` for usage.\n", name, fmt.Sprintf(format, args...), name)
	return exitUsage
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
