// Umbrella header of zeroflow::protocol, the control protocol shared by runtime, daemon and CLI.
#pragma once

#include <zeroflow/protocol/common.hpp>
#include <zeroflow/protocol/daemon_error.hpp>
#include <zeroflow/protocol/environment.hpp>
#include <zeroflow/protocol/frame.hpp>
#include <zeroflow/protocol/message.hpp>
#include <zeroflow/protocol/remote_parts.hpp>
#include <zeroflow/protocol/runtime_dir.hpp>
#include <zeroflow/protocol/socket.hpp>
