// Command gatehouse is the Gatehouse GraphQL gateway.
//
//	gatehouse [serve] [flags]        run the gateway (the default)
//	gatehouse migrate [flags]        create collections, indexes and seed data
//	gatehouse createsuperuser --username U --email E [flags]
//	gatehouse dispatch [flags]       send mailings, without serving the API
//	gatehouse copy --from A --to B   copy every collection between stores
//	gatehouse backup --to FILE       copy the embedded store while it serves
//
// Every flag has an environment variable twin; see the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(1)
	}
}

// run is the whole program, with its surroundings passed in so that tests
// can run it too. It returns when ctx is cancelled (serve) or the command is
// done.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "createsuperuser":
		return createSuperuser(ctx, args, getenv, stdin, stdout, stderr)
	case "dispatch":
		return dispatchCommand(ctx, args, getenv, stdout, stderr)
	case "copy":
		return copyCommand(ctx, args, getenv, stdout, stderr)
	case "backup":
		return backup(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, "usage: gatehouse [serve|migrate|createsuperuser|dispatch|copy|backup] [flags]; gatehouse COMMAND -h lists the flags")
		return nil
	default:
		return fmt.Errorf("unknown command %q (serve, migrate, createsuperuser, dispatch, copy, backup)", cmd)
	}
}

// parseFlags defines a command's flags, reads the environment, then the
// command line.
func parseFlags(name string, args []string, getenv func(string) string, stderr io.Writer, define func(*flag.FlagSet, envBinder)) error {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var envErrs []error
	define(fs, envBinder{getenv: getenv, errs: &envErrs})
	if err := errors.Join(envErrs...); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return nil
}
