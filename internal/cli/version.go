package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/spf13/cobra"
)

// Version and Revision are set by `make build` with -ldflags -X. When
// empty, the module version and VCS revision from the build info are used
// (go build stamps them unless -buildvcs=false).
var (
	Version  = ""
	Revision = ""
)

// VersionString returns the version, VCS revision and Go version.
func VersionString() string {
	v, rev, dirty := Version, "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "+dirty"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if rev == "unknown" && Revision != "" {
		rev = Revision
	}
	return fmt.Sprintf("roentgen %s (revision %s%s, %s, %s/%s)", v, rev, dirty, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func versionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the roentgen version and VCS revision, and the micro-kernel this CPU gets",
		RunE: func(*cobra.Command, []string) error {
			cpu := cpuName()
			if cpu != "" {
				cpu = " on " + cpu
			}
			_, err := fmt.Fprintf(stdout, "%s\nmicro-kernel %s, %d threads%s (available: %s)\n", VersionString(), kernels.MicroKernel(), kernels.Threads(), cpu, strings.Join(kernels.MicroKernels(), ", "))
			return err
		},
	}
}
