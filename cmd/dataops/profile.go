package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/profile"
)

func init() {
	commands["profile"] = command{
		summary: "Compare the column statistics of two relations and flag what looks wrong.",
		usage:   "profile --warehouse DSN --base REL --head REL [--key COL[,COL]] [--model NAME] [--sample-rows N] [--config FILE] [--json]",
		run:     runProfile,
	}
}

func runProfile(args []string, out, errOut io.Writer) int {
	fs := newFlags("profile", commands["profile"], errOut)
	dsn := fs.String("warehouse", "", "warehouse DSN (default: $DATAOPS_WAREHOUSE_DSN, or the variable dataops.yml names)")
	baseRel := fs.String("base", "", "the production relation, schema.name")
	headRel := fs.String("head", "", "the relation to check against it, schema.name")
	key := fs.String("key", "", "key columns, comma-separated: above the sample size, rows are sampled by their hash (default: whole rows)")
	model := fs.String("model", "", "the model whose profile.columns rules in dataops.yml apply (default: the head relation's name)")
	sampleRows := fs.Int64("sample-rows", 0, "relations up to this many rows are profiled exactly, larger ones from a sample this big (default: profile.sample_rows in dataops.yml)")
	cfgPath := fs.String("config", config.FileName, "dataops.yml: the profile rules, and diff.fail_on.profile for the exit status")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, stop := parseFlags(fs, args, out); stop {
		return code
	}
	switch {
	case *baseRel == "" || *headRel == "":
		return usageError(errOut, "profile", "give --base and --head relations (schema.name)")
	case fs.NArg() > 0:
		return usageError(errOut, "profile", "unexpected argument %q", fs.Arg(0))
	case *sampleRows < 0:
		return usageError(errOut, "profile", "--sample-rows cannot be negative")
	}
	base, head, err := parseRelations(*baseRel, *headRel)
	if err != nil {
		return usageError(errOut, "profile", "%v", err)
	}
	cfg, ok := loadConfig(fs, "profile", *cfgPath, errOut)
	if !ok {
		return exitUsage
	}
	opts := profile.OptionsFrom(cfg.Profile)
	// Two relations named here have no project to mark columns: the
	// patterns of mask: (and their defaults) name the sensitive ones.
	cols := mask.New(cfg.Mask).Node("")
	opts.Sensitive, opts.Mask = cols.Sensitive, cols.Text
	opts.SampleKey = splitList(*key)
	if *sampleRows > 0 {
		opts.SampleRows = *sampleRows
	}
	name := *model
	if name == "" {
		name = head.Name
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w, _, code := openWarehouse(ctx, "profile", *dsn, cfg, errOut)
	if w == nil {
		return code
	}
	defer w.Close()
	d, err := profile.Model(ctx, w, name, base, head, opts, profile.RulesFrom(cfg.Profile, *cfgPath))
	if err != nil {
		fmt.Fprintf(errOut, "dataops profile: %v\n", err)
		var ce *config.Error
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFailure
	}
	if !d.Base.Exists && !d.Head.Exists {
		fmt.Fprintf(errOut, "dataops profile: neither %s nor %s exists\n", *baseRel, *headRel)
		return exitFailure
	}
	if *asJSON {
		printJSON(out, d)
	} else {
		printProfile(out, "", d)
	}
	if failing := failingFlags(d, cfg.Diff.FailOn.Profile); len(failing) > 0 {
		fmt.Fprintf(errOut, "dataops profile: %s that diff.fail_on.profile in %s names: %s\n", plural(len(failing), "flag"), *cfgPath, strings.Join(failing, ", "))
		return exitFailure
	}
	return exitOK
}

// failingFlags lists the flags of d that failOn names.
func failingFlags(d *profile.Diff, failOn []string) []string {
	var out []string
	for _, f := range d.Flags {
		if slices.Contains(failOn, f.Flag) {
			name := f.Flag
			if f.Column != "" {
				name += " (" + f.Column + ")"
			}
			out = append(out, name)
		}
	}
	return out
}

// printProfile writes a profile diff for a person: its headline, every
// column, the flags.
func printProfile(w io.Writer, title string, d *profile.Diff) {
	if title != "" {
		fmt.Fprintf(w, "== %s\n", title)
	}
	fmt.Fprintln(w, d.Headline())
	if pairs := d.Pairs(); len(pairs) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(profile.ColumnHeader, "\t")))
		for _, p := range pairs {
			cells := p.Cells()
			for i, c := range cells {
				cells[i] = strings.NewReplacer("\n", " ", "\t", " ").Replace(c)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		tw.Flush()
	}
	for _, f := range d.Flags {
		where := ""
		if f.Column != "" {
			where = " " + f.Column
		}
		fmt.Fprintf(w, "flag %s%s: %s\n", f.Flag, where, f.Message)
	}
	if note := d.SampleNote(); note != "" {
		fmt.Fprintln(w, note)
	}
}
