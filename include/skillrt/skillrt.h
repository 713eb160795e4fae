// Umbrella header: the whole public API of skillrt.
#ifndef SKILLRT_SKILLRT_H_
#define SKILLRT_SKILLRT_H_

#include "skillrt/agent.h"
#include "skillrt/approval.h"
#include "skillrt/audit.h"
#include "skillrt/dependencies.h"
#include "skillrt/engine.h"
#include "skillrt/error.h"
#include "skillrt/grants.h"
#include "skillrt/install.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"
#include "skillrt/manifest.h"
#include "skillrt/outcome.h"
#include "skillrt/peer.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/registry.h"
#include "skillrt/runtime.h"
#include "skillrt/search.h"
#include "skillrt/skill.h"
#include "skillrt/tools.h"
#include "skillrt/wasm_build.h"

#endif  // SKILLRT_SKILLRT_H_
