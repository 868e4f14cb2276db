package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Role is one process of a service, as deploy/local/Procfile runs it: `<service>-<role>: newsflow-<service> <role>`.
type Role struct {
	Name    string // ingest-api
	Service string // ingest
	Role    string // api
}

// procfileRoles returns the Procfile entries that are service roles; helpers (demo, ready) are not.
func procfileRoles(path string) ([]Role, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var roles []Role
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, cmd, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s: not a Procfile line: %q", path, line)
		}
		fields := strings.Fields(cmd)
		if len(fields) != 2 {
			continue
		}
		service, isService := strings.CutPrefix(filepath.Base(fields[0]), "newsflow-")
		if isService && strings.TrimSpace(name) == service+"-"+fields[1] {
			roles = append(roles, Role{Name: strings.TrimSpace(name), Service: service, Role: fields[1]})
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("%s: no service role found", path)
	}
	return roles, nil
}

// readEnvFile reads KEY=VALUE lines (deploy/local/versions.env).
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out, nil
}

func newsflowEnv(all map[string]*string) map[string]*string {
	out := map[string]*string{}
	for k, v := range all {
		if strings.HasPrefix(k, "NEWSFLOW_") {
			out[k] = v
		}
	}
	return out
}
