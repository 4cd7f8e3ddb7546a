// The test process plays the daemon: it creates each segment (children open it through
// /proc/<parent>/fd), and after every test checks that no process still maps or holds one.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <zeroflow/shm/control.hpp>
#include <zeroflow/shm/segment.hpp>
#include <zeroflow/shm/sender.hpp>

#include "support.hpp"

namespace zeroflow::shm::mp {

class ShmProcesses : public ::testing::Test {
public:
    static ConnectionBlock& connection(const Segment& s, std::uint32_t c) {
        return s.at<ConnectionBlock>(s.layout().connections[c].block_offset);
    }
    static OutputBlock& output(const Segment& s) {
        return s.at<OutputBlock>(s.layout().outputs[0].block_offset);
    }

protected:
    Segment& create(const Params& params) {
        auto segment = Segment::create(params.spec());
        EXPECT_TRUE(segment) << segment.error().message;
        names_.push_back(segment->name());
        segments_.push_back(std::make_unique<Segment>(std::move(*segment)));
        return *segments_.back();
    }

    /// Unmaps and closes a segment now (every child using it must be gone).
    void destroy(Segment& segment) {
        std::erase_if(segments_, [&](const auto& s) { return s.get() == &segment; });
    }

    void TearDown() override {
        segments_.clear();
        for (const auto& name : names_) {
            EXPECT_TRUE(processes_holding(name).empty()) << name << " still mapped or held";
        }
    }

    /// Polls `done` every 100 µs until it holds or `limit` passes.
    static bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        return true;
    }

    std::vector<std::unique_ptr<Segment>> segments_;
    std::vector<std::string> names_;
};

} // namespace zeroflow::shm::mp
