// Command check validates Newsflow's deployment artefacts without a container engine or a cluster,
// with the real parsers of each format:
//
//   - docker-compose.yml through compose-go (the Compose specification's loader: schema validation,
//     interpolation, consistency checks), plus project rules: every Procfile role has a service, the
//     server images pin deploy/local/versions.env, only the gateway publishes a port, ...;
//   - the Dockerfiles it builds through BuildKit's Dockerfile parser and linter, and each COPY or bind
//     source against the build context and its .dockerignore;
//   - every kustomize overlay under deploy/k8s/overlays built with kustomize's krusty, and each
//     resulting object decoded strictly into its k8s.io/api type (unknown fields, duplicate fields and
//     wrong types fail), plus cross-object rules (selectors, probes, HPAs, PDBs, references, hardening).
//
// It prints every problem and exits 1 when there is any. With -report it also writes a JSON summary
// (each workload's NEWSFLOW_* environment, each autoscaler) that tests/deploy checks against the
// services' settings classes and the event contracts.
//
//	go -C deploy/check run . [-root ../..] [-report FILE]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Report is what -report writes: the facts tests/deploy checks on the Python side.
type Report struct {
	Workloads   []Workload   `json:"workloads"`
	Autoscalers []Autoscaler `json:"autoscalers"`
}

// Workload is one process definition (a compose service, a Kubernetes Deployment or Job container).
type Workload struct {
	Source string `json:"source"` // "compose" or "k8s/<overlay>"
	Name   string `json:"name"`
	// Settings names the settings class the process reads: a service ("ingest", ...) or "kit" for the
	// kit's own commands (newsflow-topics reads ServiceSettings).
	Settings string   `json:"settings"`
	Command  []string `json:"command"`
	// Env holds the NEWSFLOW_* variables; null marks a value that comes from a Secret or the host.
	Env map[string]*string `json:"env"`
}

// Autoscaler is one HorizontalPodAutoscaler of an overlay.
type Autoscaler struct {
	Source string `json:"source"`
	Name   string `json:"name"`
	Target string `json:"target"`
	Min    int32  `json:"min"`
	Max    int32  `json:"max"`
}

// problems collects every failure so one run reports them all.
type problems struct{ list []string }

func (p *problems) add(where, format string, args ...any) {
	p.list = append(p.list, where+": "+fmt.Sprintf(format, args...))
}

func main() {
	root := flag.String("root", "../..", "the repository root")
	reportPath := flag.String("report", "", "write a JSON report of workloads and autoscalers to this file")
	flag.Parse()

	abs, err := filepath.Abs(*root)
	if err != nil {
		fatal(err)
	}
	var probs problems
	var report Report

	roles, err := procfileRoles(filepath.Join(abs, "deploy/local/Procfile"))
	if err != nil {
		fatal(err)
	}
	versions, err := readEnvFile(filepath.Join(abs, "deploy/local/versions.env"))
	if err != nil {
		fatal(err)
	}

	checkCompose(abs, roles, versions, &probs, &report)
	overlays, err := filepath.Glob(filepath.Join(abs, "deploy/k8s/overlays/*"))
	if err != nil {
		fatal(err)
	}
	if len(overlays) == 0 {
		probs.add("deploy/k8s/overlays", "no overlay found")
	}
	sort.Strings(overlays)
	for _, dir := range overlays {
		checkOverlay(abs, dir, roles, &probs, &report)
	}

	if *reportPath != "" {
		data, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			fatal(err)
		}
		if err := os.WriteFile(*reportPath, data, 0o644); err != nil {
			fatal(err)
		}
	}
	if len(probs.list) > 0 {
		sort.Strings(probs.list) // grouped by file and object, stable from run to run
		fmt.Fprintf(os.Stderr, "deploy check: %d problem(s)\n", len(probs.list))
		for _, p := range probs.list {
			fmt.Fprintln(os.Stderr, "  - "+p)
		}
		os.Exit(1)
	}
	fmt.Printf("deploy check: docker-compose.yml, its Dockerfiles and %d kustomize overlay(s) are valid\n", len(overlays))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "deploy check:", err)
	os.Exit(2)
}
