// Compiled (not run) by bench/record.mjs while perf records g++: template-heavy std code.
#include <regex>
#include <map>
#include <string>
#include <vector>
#include <algorithm>
#include <iostream>
#include <sstream>
#include <unordered_map>
#include <functional>
int main(){ std::map<std::string,std::vector<int>> m; std::regex r("(\\w+)@(\\w+)\\.com"); std::smatch s; std::string t="a@b.com"; if(std::regex_search(t,s,r)) m[s[1]].push_back(1);
 std::unordered_map<int,std::function<int(int)>> f; f[1]=[](int x){return x*2;}; std::ostringstream o; o<<f[1](3); std::vector<std::string> v{"b","a"}; std::sort(v.begin(),v.end()); std::cout<<o.str()<<v[0]<<m.size()<<"\n"; }
