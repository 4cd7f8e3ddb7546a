// Payload writing/reading and the sample budget of the measurement loops.
#include <algorithm>
#include <cstring>

#include <zeroflow/bench/driver.hpp>

namespace zeroflow::bench {

namespace {
// Every full-touch read ends up here; volatile so the summing loop cannot be dropped.
volatile std::uint64_t g_sink = 0;
} // namespace

void write_message(std::span<std::byte> message, std::int64_t header, Touch touch,
                   std::uint8_t fill) noexcept {
    if (touch == Touch::full) {
        std::memset(message.data(), fill, message.size());
    }
    std::memcpy(message.data(), &header, sizeof header);
}

std::int64_t read_message(std::span<const std::byte> message, Touch touch) noexcept {
    std::int64_t header = 0;
    std::memcpy(&header, message.data(), sizeof header);
    if (touch == Touch::full) {
        // Four independent sums keep the loop from being latency-bound on one register.
        std::uint64_t a = 0, b = 0, c = 0, d = 0;
        const std::byte* p = message.data();
        const std::size_t words = message.size() / 8;
        std::size_t i = 0;
        for (; i + 4 <= words; i += 4) {
            std::uint64_t w[4];
            std::memcpy(w, p + i * 8, sizeof w);
            a += w[0];
            b += w[1];
            c += w[2];
            d += w[3];
        }
        for (; i < words; ++i) {
            std::uint64_t w = 0;
            std::memcpy(&w, p + i * 8, sizeof w);
            a += w;
        }
        for (std::size_t k = words * 8; k < message.size(); ++k) {
            b += static_cast<std::uint64_t>(p[k]);
        }
        g_sink = g_sink + a + b + c + d;
    }
    return header;
}

namespace detail {

void fit_budget(const PointSpec& point, double per_iteration_ns, std::uint64_t& warmup,
                std::uint64_t& samples, std::string& note) {
    // Only big messages may lose samples (their iterations cost milliseconds); every
    // smaller point always gets the full count.
    if (point.size < kBudgetMinSize) {
        return;
    }
    const double budget_ns = point.budget_s * 1e9;
    const double planned = per_iteration_ns * static_cast<double>(warmup + samples);
    if (planned <= budget_ns || per_iteration_ns <= 0.0) {
        return;
    }
    constexpr std::uint64_t kMinSamples = 50;
    const auto fits = static_cast<std::uint64_t>(budget_ns / per_iteration_ns);
    const std::uint64_t new_warmup =
        std::min<std::uint64_t>(warmup, std::max<std::uint64_t>(10, fits / 20));
    const std::uint64_t new_samples = std::min<std::uint64_t>(
        samples, std::max<std::uint64_t>(kMinSamples, fits > new_warmup ? fits - new_warmup : 0));
    if (new_samples == samples && new_warmup == warmup) {
        return;
    }
    const std::uint64_t kept_warmup = std::max<std::uint64_t>(new_warmup, 12); // probe ran
    note = (new_samples != samples ? "samples reduced from " + std::to_string(samples) + " to " +
                                         std::to_string(new_samples) + ", "
                                   : std::string{}) +
           "warm-up reduced from " + std::to_string(warmup) + " to " + std::to_string(kept_warmup) +
           " to fit the " + std::to_string(static_cast<long>(point.budget_s)) + " s point budget";
    warmup = kept_warmup;
    samples = new_samples;
}

} // namespace detail

} // namespace zeroflow::bench
