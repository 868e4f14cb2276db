package main

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Platform servers of the compose file and the versions.env key their image tag must pin.
var composeServers = map[string]string{"kafka": "KAFKA_VERSION", "elasticsearch": "ES_VERSION", "mongo": ""}

// The one service that publishes a host port, and that port.
const publicService, publicPort = "gateway-api", "8000"

func checkCompose(root string, roles []Role, versions map[string]string, probs *problems, report *Report) {
	const where = "docker-compose.yml"
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, where)},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(nil), // the host's environment must not change the verdict
		cli.WithProfiles([]string{"*"}),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		probs.add(where, "%v", err)
		return
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		probs.add(where, "compose loader: %v", err)
		return
	}

	names := project.ServiceNames()
	sort.Strings(names)
	checked := map[string]bool{} // a Dockerfile with the same build args is checked once
	for _, name := range names {
		svc := project.Services[name]
		at := where + ": service " + name
		for dep := range svc.DependsOn {
			if _, ok := project.Services[dep]; !ok {
				probs.add(at, "depends_on %q, which is not a service", dep)
			}
		}
		checkComposePorts(at, svc, probs)
		if svc.Build != nil {
			checkComposeBuild(root, at, svc, versions, checked, probs)
		}
		if settings := composeSettings(svc); settings != "" {
			report.Workloads = append(report.Workloads, Workload{
				Source: "compose", Name: name, Settings: settings,
				Command: append(slices.Clone([]string(svc.Entrypoint)), svc.Command...),
				Env:     newsflowEnv(map[string]*string(svc.Environment)),
			})
		}
	}
	for name, key := range composeServers {
		svc, ok := project.Services[name]
		switch {
		case !ok:
			probs.add(where, "no %q service", name)
		case svc.HealthCheck == nil || svc.HealthCheck.Disable || len(svc.HealthCheck.Test) == 0:
			probs.add(where+": service "+name, "needs a healthcheck (services wait for service_healthy)")
		case key != "" && !pinsVersion(svc, key, versions[key]):
			probs.add(where+": service "+name, "must pin %s=%s from deploy/local/versions.env", key, versions[key])
		}
	}
	for _, role := range roles {
		checkComposeRole(project, role, probs)
	}
	if topics, ok := project.Services["topics"]; !ok || composeSettings(topics) != "kit" {
		probs.add(where, "a one-shot `topics` service must run newsflow-topics")
	}
}

// checkComposeRole: the Procfile role has a service built for its service and running its role,
// healthy-gated on the servers and the topics job, with a readiness healthcheck when it serves HTTP.
func checkComposeRole(project *types.Project, role Role, probs *problems) {
	at := "docker-compose.yml: service " + role.Name
	svc, ok := project.Services[role.Name]
	if !ok {
		probs.add("docker-compose.yml", "no service for Procfile role %s (newsflow-%s %s)", role.Name, role.Service, role.Role)
		return
	}
	if svc.Build == nil || buildArg(svc, "SERVICE") != role.Service {
		probs.add(at, "must be built with args SERVICE=%s", role.Service)
	}
	if len(svc.Entrypoint) > 0 || !slices.Equal([]string(svc.Command), []string{role.Role}) {
		probs.add(at, "must run the image's entrypoint with command [%q], not entrypoint=%v command=%v", role.Role, svc.Entrypoint, svc.Command)
	}
	for dep, cond := range map[string]string{
		"kafka": types.ServiceConditionHealthy, "mongo": types.ServiceConditionHealthy,
		"elasticsearch": types.ServiceConditionHealthy, "topics": types.ServiceConditionCompletedSuccessfully,
	} {
		if got := svc.DependsOn[dep].Condition; got != cond {
			probs.add(at, "depends_on %s must have condition %s (has %q)", dep, cond, got)
		}
	}
	if role.Role == "api" {
		hc := svc.HealthCheck
		if hc == nil || hc.Disable || !strings.Contains(strings.Join(hc.Test, " "), "/readyz") {
			probs.add(at, "an API needs a healthcheck on /readyz")
		}
	}
	for _, key := range []string{"NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "NEWSFLOW_MONGO__URI", "NEWSFLOW_ELASTICSEARCH__URL", "NEWSFLOW_HOST"} {
		if v, ok := svc.Environment[key]; !ok || v == nil || *v == "" {
			probs.add(at, "environment must set %s", key)
		}
	}
}

func checkComposePorts(at string, svc types.ServiceConfig, probs *problems) {
	for _, p := range svc.Ports {
		if svc.Name != publicService || p.Published != publicPort {
			probs.add(at, "publishes port %s:%d; only %s publishes a host port (%s)", p.Published, p.Target, publicService, publicPort)
		}
	}
	if svc.Name == publicService && len(svc.Ports) != 1 {
		probs.add(at, "must publish exactly port %s", publicPort)
	}
}

// checkComposeBuild parses the service's Dockerfile and checks its build args and sources.
func checkComposeBuild(root, at string, svc types.ServiceConfig, versions map[string]string, checked map[string]bool, probs *problems) {
	ctxDir := svc.Build.Context
	if !filepath.IsAbs(ctxDir) {
		ctxDir = filepath.Join(root, ctxDir)
	}
	dockerfile := svc.Build.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(ctxDir, dockerfile)
	}
	args := map[string]string{}
	for k, v := range svc.Build.Args {
		if v != nil {
			args[k] = *v
		}
	}
	for key, value := range args {
		if want, pinned := versions[key]; pinned && value != want {
			probs.add(at, "build arg %s=%s, deploy/local/versions.env says %s", key, value, want)
		}
	}
	keys := make([]string, 0, len(args))
	for k, v := range args {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	rel, _ := filepath.Rel(root, dockerfile)
	build := "docker-compose.yml: build " + strings.Join(append([]string{rel}, keys...), " ")
	if !checked[build] {
		checked[build] = true
		checkDockerfile(ctxDir, dockerfile, args, versions, build, probs)
	}
}

// composeSettings names the settings class a compose service's process reads ("" if none).
func composeSettings(svc types.ServiceConfig) string {
	cmd := append(slices.Clone([]string(svc.Entrypoint)), svc.Command...)
	if len(cmd) > 0 && cmd[0] == "newsflow-topics" {
		return "kit"
	}
	if svc.Build != nil {
		return buildArg(svc, "SERVICE")
	}
	return ""
}

func buildArg(svc types.ServiceConfig, key string) string {
	if svc.Build == nil {
		return ""
	}
	if v := svc.Build.Args[key]; v != nil {
		return *v
	}
	return ""
}

// pinsVersion: the image tag, or the build arg of the same name, is the pinned version.
func pinsVersion(svc types.ServiceConfig, key, version string) bool {
	if version == "" {
		return false
	}
	if svc.Build != nil {
		return buildArg(svc, key) == version
	}
	_, tag, _ := strings.Cut(svc.Image, ":")
	return tag == version
}
