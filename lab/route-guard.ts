// The route guard moved to src/connector/route-guard.ts, where the connector
// factory applies it. This re-export remains only for test/lab/lab.test.ts,
// which the change that moved it could not edit; point that import at
// src/connector/route-guard.ts and delete this file.
export { assertLabRoute, RouteGuardError } from '../src/connector/route-guard.ts';
