package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is floe's release version. Release builds set it with
// -ldflags "-X floe.dev/floe/services/featureserver/internal/cli.Version=v1.2.3";
// `make build` sets it from `git describe`. Other builds say "dev".
var Version = "dev"

// APIVersion is the version of the protobuf API the server speaks (proto/floe/v1).
const APIVersion = "floe.v1"

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "floe %s\napi %s\n", Version, APIVersion)
	fmt.Fprintf(stdout, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified":
				fmt.Fprintf(stdout, "%s %s\n", s.Key, s.Value)
			}
		}
	}
	return nil
}
