package bot

import (
	"fmt"
	"strings"
)

// Verb is a comment command's action.
type Verb string

const (
	VerbHelp     Verb = "help"
	VerbPlan     Verb = "plan"
	VerbDiff     Verb = "diff"
	VerbRerun    Verb = "rerun"
	VerbDeploy   Verb = "deploy"
	VerbRollback Verb = "rollback"
	VerbTeardown Verb = "teardown"
)

// verbs, with what each does, in the order help lists them.
var verbs = []struct {
	verb      Verb
	usage     string
	what      string
	warehouse bool // needs write access: it touches a warehouse
}{
	{VerbHelp, "/dataops help", "show this help", false},
	{VerbPlan, "/dataops plan", "say what the pull request changes, without building", false},
	{VerbDiff, "/dataops diff [MODEL ...]", "compare the data of the changed models (or those named) with production again", true},
	{VerbRerun, "/dataops rerun", "run every check again", true},
	{VerbDeploy, "/dataops deploy", "build the change in production once the gate passes", true},
	{VerbRollback, "/dataops rollback", "restore production as it was before the last deploy", true},
	{VerbTeardown, "/dataops teardown", "drop this pull request's environment", true},
}

// Command is a parsed `/dataops <verb> [args]` line.
type Command struct {
	Verb Verb
	Args []string
	// Unknown holds a verb that is not one; the reply is the help.
	Unknown string
}

// RendersCode reports whether the command renders the pull request's
// templates: on a fork's pull request that takes a writer too.
func (c Command) RendersCode() bool {
	return c.Verb != VerbHelp && c.Verb != VerbTeardown
}

// TouchesWarehouse reports whether the command needs write access.
func (c Command) TouchesWarehouse() bool {
	for _, v := range verbs {
		if v.verb == c.Verb {
			return v.warehouse
		}
	}
	return false
}

// ParseCommand finds the first line of body that starts with /dataops.
// It returns false when the comment holds no command.
func ParseCommand(body string) (Command, bool) {
	for _, line := range strings.Split(body, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "/dataops" {
			continue
		}
		if len(fields) == 1 {
			return Command{Verb: VerbHelp}, true
		}
		verb := strings.ToLower(fields[1])
		for _, v := range verbs {
			if string(v.verb) == verb {
				return Command{Verb: v.verb, Args: fields[2:]}, true
			}
		}
		return Command{Verb: VerbHelp, Unknown: fields[1]}, true
	}
	return Command{}, false
}

// Help is the reply to /dataops help and to a command with a typo.
func Help(unknown string) string {
	var b strings.Builder
	if unknown != "" {
		fmt.Fprintf(&b, "`%s` is not a dataops command. ", unknown)
	}
	b.WriteString("Comment one of these on the pull request:\n\n")
	for _, v := range verbs {
		fmt.Fprintf(&b, "- `%s`: %s\n", v.usage, v.what)
	}
	b.WriteString("\nCommands that touch the warehouse need write access to the repository.")
	return b.String()
}
