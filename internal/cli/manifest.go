package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/batch"
	"github.com/spf13/cobra"
)

func (a *app) manifestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manifest",
		Short: "Work with batch manifests (merge)",
		// Runnable, so that an unknown subcommand reaches Args (NoArgs, a
		// usage error) instead of printing help with status 0.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var out string
	var verify bool
	merge := &cobra.Command{
		Use:   "merge DIR|FILE...",
		Short: "Combine shard manifests into one, checking that every item is there exactly once",
		Long: `merge reads the manifests of a sharded batch (manifest.jsonl and
manifest-shard-I-of-N.jsonl in each DIR, or manifest FILEs) and writes one manifest
with a line per item, in item order, file paths relative to the output's folder.

Every line must come from the same prompt file (its SHA-256), settings and item
count. An item in several manifests with the same file and SHA-256 (say an
earlier merge and its shards) is merged. merge reports missing items, items
duplicated with another file or SHA-256, and files that are missing or changed
(--verify also checks each file's SHA-256); then it writes nothing and exits
with status 1. A complete merge is written atomically.`,
		Example: `  roentgen manifest merge cxr                      # cxr/manifest-shard-*-of-*.jsonl -> cxr/manifest.jsonl
  roentgen manifest merge --out all.jsonl node1/out node2/out`,
		Args: wrapArgs(cobra.MinimumNArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error { return a.merge(args, out, verify) },
	}
	merge.Flags().StringVar(&out, "out", "", "merged manifest (default: DIR/manifest.jsonl for the first DIR)")
	merge.Flags().BoolVar(&verify, "verify", false, "also check every file's SHA-256 (reads every image)")
	cmd.AddCommand(merge)
	return cmd
}

func (a *app) merge(args []string, out string, verify bool) error {
	dirs := map[string]bool{}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("manifest merge: %s does not exist", arg)
		}
		if err != nil {
			return fmt.Errorf("manifest merge: %w", err)
		}
		dirs[arg] = st.IsDir()
	}
	if out == "" {
		if !dirs[args[0]] {
			return usagef("--out is required when the first argument is not a folder")
		}
		out = filepath.Join(args[0], "manifest.jsonl")
	}
	var files []string
	for _, arg := range args {
		if !dirs[arg] {
			files = append(files, arg)
			continue
		}
		found, err := batch.FindManifests(arg, out)
		if err != nil {
			return fmt.Errorf("manifest merge: %w", err)
		}
		files = append(files, found...)
	}
	m, err := batch.Merge(files, filepath.Dir(out), verify)
	if err != nil {
		return fmt.Errorf("manifest merge: %w", err)
	}
	per := max(m.Lines[0].Settings.ImagesPerPrompt, 1)
	if !m.Complete() {
		printProblems(a.stderr, m, per)
		return fmt.Errorf("manifest merge: %d of %d items: %d missing, %d duplicated, %d files missing or changed; nothing written",
			len(m.Lines), m.Total, len(m.Missing), len(m.Duplicates), len(m.Absent))
	}
	data, err := batch.Encode(m.Lines)
	if err == nil {
		_, _, err = batch.WriteFile(filepath.Dir(out), filepath.Base(out), func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("manifest merge: writing %s: %w", out, err)
	}
	same := ""
	if m.Same > 0 {
		same = fmt.Sprintf(" (%d lines repeated an item exactly and were merged)", m.Same)
	}
	fmt.Fprintf(a.stderr, "roentgen: merged %d manifests (%s): all %d items%s -> %s\n", len(files), strings.Join(files, ", "), m.Total, same, out)
	return nil
}

// printProblems lists up to ten of each kind of problem.
func printProblems(w io.Writer, m *batch.Merged, per int) {
	list := func(kind string, items []string) {
		for i, s := range items {
			if i == 10 {
				fmt.Fprintf(w, "roentgen: ... and %d more %s\n", len(items)-10, kind)
				return
			}
			fmt.Fprintf(w, "roentgen: %s: %s\n", kind, s)
		}
	}
	var missing, dups []string
	for _, i := range m.Missing {
		missing = append(missing, batch.Describe(i, per))
	}
	for _, es := range m.Duplicates {
		where := make([]string, len(es))
		for i, e := range es {
			where[i] = e.String()
		}
		dups = append(dups, batch.Describe(es[0].Index, per)+" in "+strings.Join(where, " and "))
	}
	list("missing", missing)
	list("duplicate", dups)
	list("file problem", m.Absent)
}
