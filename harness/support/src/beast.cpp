// Boost.Beast, compiled once for the whole build tree.
#include <boost/beast/src.hpp>
