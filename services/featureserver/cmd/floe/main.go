// Command floe is Floe's server and command-line tool: serve, ingest, materialize,
// gen, validate and example-data. Run `floe help` for usage.
package main

import (
	"os"

	"floe.dev/floe/services/featureserver/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
