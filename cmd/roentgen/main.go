// Command roentgen generates synthetic chest X-rays from radiology text with Stable Diffusion on CPUs.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/roentgen-dev/roentgen/internal/cli"
)

func main() {
	// The heap is almost all activation arenas and kernel scratch, which
	// live for a whole stage and hold no pointers, so collecting often is
	// nearly free; the default target (twice the live heap) would let a
	// 25-step run's small garbage grow the resident set by half a GiB.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(run(os.Args[1:]))
}

// gcPercent is the garbage collector's target growth unless GOGC is set.
const gcPercent = 20

// run executes the command line and returns the exit code (0 ok, 1 runtime
// failure, 2 usage error). A panic is reported as an internal error, never
// as a stack trace (set ROENTGEN_DEBUG=1 to see it).
func run(args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "roentgen: internal error: %v\nThis is a bug in roentgen; please file an issue with the command line and this message.\n", r)
			if os.Getenv("ROENTGEN_DEBUG") != "" {
				os.Stderr.Write(debug.Stack())
			}
			code = 1
		}
	}()
	return cli.Run(args, os.Stdout, os.Stderr)
}
