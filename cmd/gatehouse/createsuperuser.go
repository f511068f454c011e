package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/fault"
)

// createSuperuser creates an active staff superuser. The password comes from
// GATEHOUSE_SUPERUSER_PASSWORD, or is asked on the terminal (twice), never
// from a flag, where it would show in the process list.
func createSuperuser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg := &config{}
	var username, email string
	err := parseFlags("createsuperuser", args, getenv, stderr, func(fs *flag.FlagSet, env envBinder) {
		cfg.storeFlags(fs, env)
		fs.StringVar(&username, "username", "", "the superuser's username (required)")
		fs.StringVar(&email, "email", "", "the superuser's email")
	})
	if err != nil {
		return err
	}
	if username == "" {
		return errors.New("--username is required")
	}
	password := getenv("GATEHOUSE_SUPERUSER_PASSWORD")
	if password == "" {
		if password, err = askPassword(stdin, stderr); err != nil {
			return err
		}
	}
	if err := store.ValidatePassword("password", password); err != nil {
		return err
	}

	logger, s, err := openForCommand(ctx, cfg, stderr, store.Options{})
	if err != nil {
		return err
	}
	defer closeStore(s, logger)

	hash, err := auth.NewHasher(1).Hash(ctx, password)
	if err != nil {
		return err
	}
	user, err := s.CreateUser(ctx, store.NewUser{
		Username: username, Email: email, PasswordHash: hash,
		IsActive: true, IsStaff: true, IsSuperuser: true,
	})
	if ve, ok := fault.As(err); ok && ve.Code == fault.Invalid {
		if msgs := ve.Fields["username"]; len(msgs) > 0 && strings.Contains(msgs[0], "already exists") {
			return fmt.Errorf("that username is already taken: %q", username)
		}
		return fmt.Errorf("cannot create the superuser: %w", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Superuser %q created (id %s).\n", user.Username, user.ID)
	return nil
}

// askPassword reads a password twice without echo when stdin is a terminal,
// and one line otherwise.
func askPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password: set GATEHOUSE_SUPERUSER_PASSWORD or run on a terminal")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	first, err := read("Password: ")
	if err != nil {
		return "", err
	}
	second, err := read("Password (again): ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the two passwords didn't match")
	}
	return first, nil
}
