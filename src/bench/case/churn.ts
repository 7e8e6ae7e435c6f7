/**
 * Step 2 of a case: the churn of the measured phase, a scheduled burst of endpoint changes and the Poisson
 * processes of src/workload/churn.ts, scaled by the number of services.
 */
import { distributionMean } from '../build.js';
import { startChurn, type ChurnCounters } from '../../workload/churn.js';
import type { CaseWorld } from './build.js';

/** Schedules the case's churn from `t0` to `end`; the counters fill in as the simulation runs. */
export function startCaseChurn(w: CaseWorld): ChurnCounters {
  const { sc, sched, deployments, rng, cluster, t0, end } = w;
  const churn = sc.churn;
  // a burst of endpoint changes (each deletes one pod of a random service; its Deployment replaces it)
  const withPods = w.synthetic.filter((s) => s.deployment !== null);
  const burst = churn.endpointBurst;
  if (burst !== undefined && burst.changes > 0 && withPods.length > 0) {
    const burstRng = rng.stream('churn.burst');
    for (let i = 0; i < burst.changes; i++) {
      const at = t0 + burst.at + (burst.changes > 1 ? (burst.spreadSeconds * i) / (burst.changes - 1) : 0);
      sched.at(
        at,
        () => {
          const s = withPods[burstRng.int(withPods.length)]!;
          const pods = deployments.podsOf(s.namespace, s.deployment!);
          if (pods.length > 0) deployments.deletePod(s.namespace, pods[burstRng.int(pods.length)]!.name);
        },
        'burst',
      );
    }
  }
  // Poisson processes of rollouts, scaling, crashes, flaps, drains, service creation and deletion
  const k = churn.perServices > 0 ? sc.cluster.services / churn.perServices : 1;
  return startChurn(
    {
      cluster,
      sched,
      deployments,
      rng,
      services: withPods.map((s) => ({ namespace: s.namespace, name: s.name, deployment: s.deployment! })),
    },
    {
      rollingUpdatesPerMinute: churn.rollingUpdatesPerMinute * k,
      maxSurge: churn.maxSurge,
      maxUnavailable: churn.maxUnavailable,
      scaleEventsPerMinute: churn.scaleEventsPerMinute * k,
      scaleStep: churn.scaleStep,
      crashesPerMinute: churn.crashesPerMinute * k,
      crashLoop: churn.crashLoop,
      readinessFlapsPerMinute: churn.readinessFlapsPerMinute * k,
      flapSeconds: churn.flapSeconds,
      nodeDrainsPerHour: churn.nodeDrainsPerHour * k,
      serviceCreatesPerMinute: churn.serviceCreatesPerMinute * k,
      serviceDeletesPerMinute: churn.serviceDeletesPerMinute * k,
      endpointsPerService: Math.max(1, Math.round(distributionMean(sc.cluster.endpointsPerService))),
    },
    end,
  );
}
